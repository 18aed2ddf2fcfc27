// `prices:` — USD per million tokens by model, for cost budgets.
//
//   prices:
//     models:
//       gpt-4o: {input: 2.50, output: 10.00, cached_input: 1.25}
//       "claude-sonnet-4*": {input: 3, output: 15, cached_input: 0.30, cache_write: 3.75}
//       o3: {input: 2, output: 8, cached_input: 0.50, reasoning: 8, max_output_tokens: 100000}
//     files: [prices/openai.csv]      # long lists: CSV, see CompileCsv
//
// input and output are required; cached_input and cache_write default to
// input, reasoning to output. Rates are exact decimals (up to nine places).
// Names are exact or globs ('*', '?'); a name priced twice in a set must be
// priced identically.
#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "policies/document.h"

namespace tosgate::policies {
namespace {

std::string WhereAt(const Context& ctx, const YAML::Mark& mark) {
  return ctx.Where(mark) + ":" + std::to_string(mark.column + 1);
}

// A rate: a plain, non-negative decimal number of dollars per million tokens.
bool Rate(Context& ctx, const Field& f, int64_t* nano) {
  if (f.node.IsScalar() && !IsQuoted(f.node)) {
    const std::string& s = f.node.Scalar();
    if (!s.empty() && s[0] == '-') {
      ctx.Error(f, "a rate must not be negative, got " + s);
      return false;
    }
    if (engine::ParseUsd(s, nano)) return true;
  }
  ctx.Error(f, "expected USD per million tokens such as 2.50 (up to 9 decimals), got " +
                   Describe(f.node));
  return false;
}

bool CompilePrice(Context& ctx, const Field& f, engine::ModelPrice* out) {
  MapReader map(ctx, f);
  if (!map.ok()) return false;
  bool ok = true;
  engine::CostRates& r = out->rates;
  std::optional<Field> input = map.Require("input"), output = map.Require("output");
  ok = input && Rate(ctx, *input, &r.input) && ok;
  ok = output && Rate(ctx, *output, &r.output) && ok;
  r.cached_input = r.cache_write = r.input;
  r.reasoning = r.output;
  const std::pair<const char*, int64_t*> optional[] = {
      {"cached_input", &r.cached_input}, {"cache_write", &r.cache_write}, {"reasoning", &r.reasoning}};
  for (const auto& [key, dest] : optional)
    if (std::optional<Field> v = map.Take(key)) ok = Rate(ctx, *v, dest) && ok;
  if (std::optional<Field> m = map.Take("max_output_tokens")) {
    if (!ctx.Int(*m, &out->max_output_tokens)) {
      ok = false;
    } else if (out->max_output_tokens <= 0) {
      ctx.Error(*m, "max_output_tokens must be greater than zero");
      ok = false;
    }
  }
  map.RejectUnknown();
  return ok;
}

std::string PriceText(const engine::ModelPrice& p) {
  const engine::CostRates& r = p.rates;
  return std::to_string(r.input) + ' ' + std::to_string(r.output) + ' ' +
         std::to_string(r.cached_input) + ' ' + std::to_string(r.cache_write) + ' ' +
         std::to_string(r.reasoning) + ' ' + std::to_string(p.max_output_tokens);
}

// `at`, when given, is where the models were written (a CSV row).
void CompileModels(Context& ctx, const Field& f, SetBuilder* set, const std::string* at = nullptr) {
  MapReader models(ctx, f);
  for (const MapReader::Entry& e : models.TakeAll()) {
    const Field name_field{e.value.node, e.value.path, e.key_mark};
    engine::ModelPrice price;
    price.pattern = e.key;
    price.source = at ? *at : WhereAt(ctx, e.key_mark);
    if (e.key.empty() || e.key.size() > 256) {
      ctx.Error(name_field, "a model name must be 1 to 256 characters");
      continue;
    }
    if (!CompilePrice(ctx, e.value, &price)) continue;
    const std::string what = PriceText(price);
    auto [first, inserted] = set->prices_at.emplace(e.key, SetBuilder::Defined{price.source, what});
    if (!inserted) {
      if (first->second.what != what)
        ctx.Error(name_field, "model \"" + e.key + "\" is already priced at " + first->second.at +
                                  ", differently; a set may price a model twice only identically");
      continue;
    }
    set->prices->Add(std::move(price));
  }
}

YAML::Mark MarkAt(int line, int column) {
  YAML::Mark m = YAML::Mark::null_mark();
  m.line = line;
  m.column = column;
  m.pos = 0;
  return m;
}

// A price list file: CSV with a header naming its columns, in any order:
//   model,input,output,cached_input,cache_write,reasoning,max_output_tokens
// model, input and output are required; an empty cell takes the default.
// Errors point at the file's line and column.
void CompileCsv(Context& ctx, const std::string& content, SetBuilder* set) {
  static constexpr std::string_view kColumns[] = {"model", "input", "output", "cached_input",
                                                   "cache_write", "reasoning", "max_output_tokens"};
  std::vector<int> column_of;  // file column -> index in kColumns
  int line = 0;
  size_t at = 0;
  while (at < content.size()) {
    size_t nl = content.find('\n', at);
    if (nl == std::string::npos) nl = content.size();
    std::string_view row(content.data() + at, nl - at);
    at = nl + 1;
    const int this_line = line++;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (row.empty() || row[0] == '#') continue;
    std::vector<std::pair<std::string, int>> cells;  // text, 0-based column
    for (size_t from = 0;;) {
      const size_t comma = row.find(',', from);
      std::string_view cell = row.substr(from, comma == std::string_view::npos ? row.npos : comma - from);
      size_t lead = 0;
      while (lead < cell.size() && cell[lead] == ' ') ++lead;
      cell.remove_prefix(lead);
      while (!cell.empty() && cell.back() == ' ') cell.remove_suffix(1);
      cells.emplace_back(std::string(cell), static_cast<int>(from + lead));
      if (comma == std::string_view::npos) break;
      from = comma + 1;
    }
    if (column_of.empty()) {  // the header
      std::vector<bool> seen(std::size(kColumns));
      for (const auto& [name, col] : cells) {
        const auto* it = std::find(std::begin(kColumns), std::end(kColumns), name);
        if (it == std::end(kColumns) || seen[it - std::begin(kColumns)]) {
          ctx.Error(MarkAt(this_line, col), "",
                    "column \"" + name + "\" is unknown or repeated; expected model, input, "
                    "output, cached_input, cache_write, reasoning, max_output_tokens");
          return;
        }
        seen[it - std::begin(kColumns)] = true;
        column_of.push_back(static_cast<int>(it - std::begin(kColumns)));
      }
      if (!seen[0] || !seen[1] || !seen[2]) {
        ctx.Error(MarkAt(this_line, 0), "", "the header needs the columns model, input and output");
        return;
      }
      continue;
    }
    if (cells.size() != column_of.size()) {
      ctx.Error(MarkAt(this_line, 0), "",
                "expected " + std::to_string(column_of.size()) + " cells as in the header, got " +
                    std::to_string(cells.size()));
      continue;
    }
    // As a YAML map, so that one reader checks both forms.
    YAML::Node map(YAML::NodeType::Map);
    std::string model;
    int model_col = 0;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (column_of[i] == 0) model = cells[i].first, model_col = cells[i].second;
      else if (!cells[i].first.empty()) map[std::string(kColumns[column_of[i]])] = cells[i].first;
    }
    YAML::Node doc(YAML::NodeType::Map);
    doc[model] = map;
    const std::string at = ctx.file() + ":" + std::to_string(this_line + 1) + ":" +
                           std::to_string(model_col + 1);
    const size_t before = ctx.errors()->size();
    CompileModels(ctx, Field{doc, "", MarkAt(this_line, model_col)}, set, &at);
    // In-memory nodes carry no positions: point each error at its cell.
    for (size_t e = before; e < ctx.errors()->size(); ++e) {
      Diagnostic& d = (*ctx.errors())[e];
      d.line = this_line + 1;
      d.column = model_col + 1;
      for (size_t i = 0; i < cells.size(); ++i) {
        const std::string suffix = "." + std::string(kColumns[column_of[i]]);
        if (d.key.size() > suffix.size() && d.key.ends_with(suffix)) d.column = cells[i].second + 1;
      }
    }
  }
}

void CompileFile(Context& ctx, const Field& f, SetBuilder* set) {
  std::string file, name, content, why;
  if (!ctx.String(f, &file)) return;
  if (file.empty() || !set->read_data_file(ctx.file(), file, &name, &content, &why)) {
    ctx.Error(f, why == "not found" || file.empty()
                     ? "price file \"" + file + "\" not found (paths are relative to this file)"
                     : "price file \"" + file + "\" cannot be read: " + why);
    return;
  }
  Context file_ctx(name, ctx.errors());
  CompileCsv(file_ctx, content, set);
}

}  // namespace

void AddPrices(Context& ctx, const Field& f, SetBuilder* set) {
  MapReader prices(ctx, f);
  if (!prices.ok()) return;
  if (std::optional<Field> models = prices.Take("models")) CompileModels(ctx, *models, set);
  if (std::optional<Field> files = prices.Take("files")) {
    std::vector<Field> items;
    if (ctx.Sequence(*files, &items))
      for (const Field& item : items) CompileFile(ctx, item, set);
  }
  prices.RejectUnknown();
}

}  // namespace tosgate::policies
