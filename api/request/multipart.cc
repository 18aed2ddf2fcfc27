#include "api/request/multipart.h"

#include <algorithm>

#include "engine/body_parser.h"

namespace tosgate::api {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 7230 token characters.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 boundary characters (a space is allowed, but not last).
bool IsBoundaryChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// The parameters after a header's first value: `; name=value` pairs, value a
// token or a quoted string. Names are lower-cased. A backslash inside a
// quoted string is refused rather than interpreted: parsers disagree on it
// (browsers do not escape, RFC 2616 does), so a crafted one could make two
// readers split the parameters differently. A repeated name is refused too.
struct Param {
  std::string name;
  std::string value;
};
Status ParseParams(std::string_view s, std::vector<Param>* out) {
  out->clear();
  size_t i = 0;
  while (true) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i == s.size()) return Status::Ok();
    if (s[i] != ';') return Status::InvalidArgument("a header parameter list is malformed");
    ++i;
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i == s.size()) return Status::Ok();  // a trailing ';'
    size_t start = i;
    while (i < s.size() && IsTokenChar(s[i])) ++i;
    if (i == start || i == s.size() || s[i] != '=')
      return Status::InvalidArgument("a header parameter is malformed");
    Param p;
    p.name = LowerCopy(s.substr(start, i - start));
    ++i;
    if (i < s.size() && s[i] == '"') {
      const size_t close = s.find('"', i + 1);
      if (close == std::string_view::npos)
        return Status::InvalidArgument("a quoted header parameter is not closed");
      p.value = std::string(s.substr(i + 1, close - i - 1));
      if (p.value.find('\\') != std::string::npos)
        return Status::InvalidArgument("a quoted header parameter holds a backslash");
      i = close + 1;
    } else {
      start = i;
      while (i < s.size() && IsTokenChar(s[i])) ++i;
      if (i == start) return Status::InvalidArgument("a header parameter has no value");
      p.value = std::string(s.substr(start, i - start));
    }
    for (const Param& q : *out)
      if (q.name == p.name)
        return Status::InvalidArgument("a header parameter is repeated: " + p.name);
    out->push_back(std::move(p));
  }
}

// Splits a header value at its first ';': the lower-cased first value, and
// the parameters.
Status SplitHeaderValue(std::string_view value, std::string* first, std::vector<Param>* params) {
  const size_t semi = value.find(';');
  *first = LowerCopy(Trim(value.substr(0, semi)));
  return ParseParams(semi == std::string_view::npos ? std::string_view() : value.substr(semi),
                     params);
}

Status Boundary(std::string_view content_type, std::string* boundary) {
  std::string media;
  std::vector<Param> params;
  if (Status s = SplitHeaderValue(content_type, &media, &params); !s.ok()) return s;
  if (media != "multipart/form-data")
    return Status::InvalidArgument("the body is not multipart/form-data");
  for (const Param& p : params)
    if (p.name == "boundary") *boundary = p.value;
  if (boundary->empty() || boundary->size() > 70 || boundary->back() == ' ' ||
      !std::all_of(boundary->begin(), boundary->end(), IsBoundaryChar))
    return Status::InvalidArgument("the multipart Content-Type has no valid boundary");
  return Status::Ok();
}

// One part's header block (without its final CRLF CRLF) into *part.
Status PartHeaders(std::string_view block, MultipartPart* part) {
  bool disposition = false, type = false, encoding = false;
  std::vector<Param> params;
  size_t pos = 0;
  while (pos <= block.size()) {
    size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(pos, end - pos);
    pos = end + 2;
    if (line.empty() || IsSpace(line.front()))
      return Status::InvalidArgument("a multipart part has an empty or folded header line");
    if (line.find_first_of("\r\n") != std::string_view::npos)
      return Status::InvalidArgument("a multipart part header has a bare CR or LF");
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), IsTokenChar))
      return Status::InvalidArgument("a multipart part has a malformed header line");
    const std::string name = LowerCopy(line.substr(0, colon));
    const std::string_view value = line.substr(colon + 1);
    std::string first;
    if (name == "content-disposition") {
      if (disposition)
        return Status::InvalidArgument("a multipart part has two Content-Disposition headers");
      disposition = true;
      if (Status s = SplitHeaderValue(value, &first, &params); !s.ok()) return s;
      if (first != "form-data")
        return Status::InvalidArgument("a multipart part's Content-Disposition is not form-data");
      bool named = false;
      for (const Param& p : params) {
        if (p.name == "name")
          part->name = p.value, named = true;
        else if (p.name == "filename" || p.name == "filename*")
          part->filename = p.value, part->has_filename = true;
      }
      if (!named) return Status::InvalidArgument("a multipart part has no name");
    } else if (name == "content-type") {
      if (type) return Status::InvalidArgument("a multipart part has two Content-Type headers");
      type = true;
      part->content_type = LowerCopy(Trim(value));
    } else if (name == "content-transfer-encoding") {
      if (encoding)
        return Status::InvalidArgument(
            "a multipart part has two Content-Transfer-Encoding headers");
      encoding = true;
      // An encoded part (base64, quoted-printable) would hide its text from
      // the scan while an upstream might decode it.
      const std::string e = LowerCopy(Trim(value));
      if (e != "7bit" && e != "8bit" && e != "binary")
        return Status::InvalidArgument("a multipart part has Content-Transfer-Encoding " + e);
    }
    if (end == block.size()) break;
  }
  if (!disposition) return Status::InvalidArgument("a multipart part has no Content-Disposition");
  return Status::Ok();
}

void AppendText(std::string_view role, std::string_view text, RequestBody* out) {
  if (text.empty()) return;
  out->prompt_text.append(role).append(": ").append(text).push_back('\n');
  if (role == "user") {
    if (!out->user_text.empty()) out->user_text.push_back('\n');
    out->user_text.append(text);
  }
}

}  // namespace

bool IsMultipartFormData(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  const std::string_view media = Trim(content_type.substr(0, semi));
  constexpr std::string_view kForm = "multipart/form-data";
  if (media.size() != kForm.size()) return false;
  for (size_t i = 0; i < kForm.size(); ++i)
    if (Lower(media[i]) != kForm[i]) return false;
  return true;
}

Status SplitMultipart(std::string_view content_type, std::string_view body,
                      std::vector<MultipartPart>* parts, const MultipartLimits& limits) {
  parts->clear();
  std::string boundary;
  if (Status s = Boundary(content_type, &boundary); !s.ok()) return s;
  const std::string delimiter = "--" + boundary;
  const std::string next = "\r\n" + delimiter;
  // No preamble: a part some reader takes for preamble and another for a
  // part is the kind of disagreement this refuses.
  if (body.substr(0, delimiter.size()) != delimiter)
    return Status::InvalidArgument("the multipart body does not start with its boundary");
  size_t pos = delimiter.size();
  while (true) {
    if (body.substr(pos, 2) == "--") {
      const std::string_view rest = body.substr(pos + 2);
      if (!rest.empty() && rest != "\r\n")
        return Status::InvalidArgument("the multipart body has data after its close delimiter");
      return Status::Ok();
    }
    if (body.substr(pos, 2) != "\r\n")
      return Status::InvalidArgument("a multipart boundary is not followed by CRLF or --");
    pos += 2;
    if (parts->size() == limits.max_parts)
      return Status::InvalidArgument("the multipart body has more than " +
                                     std::to_string(limits.max_parts) + " parts");
    // Searched within the limit only, so that no byte is scanned twice.
    size_t headers_end = body.substr(pos, limits.max_header_bytes + 4).find("\r\n\r\n");
    if (headers_end != std::string_view::npos) headers_end += pos;
    if (headers_end == std::string_view::npos)
      return Status::InvalidArgument("a multipart part's headers do not end within " +
                                     std::to_string(limits.max_header_bytes) + " bytes");
    MultipartPart part;
    if (Status s = PartHeaders(body.substr(pos, headers_end - pos), &part); !s.ok()) return s;
    for (const MultipartPart& p : *parts)
      if (p.name == part.name)
        return Status::InvalidArgument("the multipart body has two parts named \"" + part.name +
                                       "\"");
    const size_t data = headers_end + 4;
    const size_t end = body.find(next, data);
    if (end == std::string_view::npos)
      return Status::InvalidArgument("the multipart body ends without its close delimiter");
    part.data = body.substr(data, end - data);
    parts->push_back(std::move(part));
    pos = end + next.size();
  }
}

Status ParseJsonLinesBodies(std::string_view jsonl, RequestBody* out) {
  *out = RequestBody{};
  size_t pos = 0;
  int64_t line_no = 0;
  RequestBody one;
  while (pos < jsonl.size()) {
    size_t end = jsonl.find('\n', pos);
    if (end == std::string_view::npos) end = jsonl.size();
    const std::string_view line = jsonl.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = "line " + std::to_string(line_no) + " of the file: ";
    if (Status s = engine::ParseBody(line, &one); !s.ok())
      return Status::InvalidArgument(where + s.message());
    // A batch line's body was read (batch_requests 1); a training example
    // must hold messages, a prompt or an input.
    if (one.batch_requests == 0 && one.message_count == 0)
      return Status::InvalidArgument(where + "not a request body");
    if (Status s = engine::MergeBody(one, out); !s.ok())
      return Status::InvalidArgument(where + s.message());
    ++out->batch_requests;
    out->batch_unbounded_requests += one.batch_unbounded_requests;
  }
  if (out->batch_requests == 0) return Status::InvalidArgument("the file holds no request bodies");
  out->present = true;
  out->prompt_chars = static_cast<int64_t>(out->prompt_text.size());
  return Status::Ok();
}

Status ParseMultipartBody(std::string_view content_type, std::string_view body, RequestBody* out) {
  *out = RequestBody{};
  std::vector<MultipartPart> parts;
  if (Status s = SplitMultipart(content_type, body, &parts); !s.ok()) return s;
  const MultipartPart* file = nullptr;
  for (const MultipartPart& p : parts) {
    if (!p.has_filename) continue;
    if (file) return Status::InvalidArgument("the form has more than one file part");
    file = &p;
  }
  if (!file) return Status::InvalidArgument("the form has no file part");
  RequestBody result;
  if (Status s = ParseJsonLinesBodies(file->data, &result); !s.ok())
    return Status::InvalidArgument("the file part is not JSON Lines of request bodies: " +
                                   s.message());
  for (const MultipartPart& p : parts) {
    if (p.has_filename) continue;
    if (p.name == "purpose") {
      result.file_purpose = std::string(p.data);
    } else if (p.name == "model") {
      if (!result.model.empty() && result.model != p.data)
        return Status::InvalidArgument("the form names more than one model");
      result.model = std::string(p.data);
    } else if (p.name == "prompt") {
      AppendText("user", p.data, &result);
    }
  }
  result.api = "files";
  result.present = true;
  result.prompt_chars = static_cast<int64_t>(result.prompt_text.size());
  *out = std::move(result);
  return Status::Ok();
}

}  // namespace tosgate::api
