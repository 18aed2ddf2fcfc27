// The fuzz targets: one entry function per input format a user or a client
// controls. Each takes arbitrary bytes and must return without crashing,
// hanging, leaking or tripping a sanitizer, whatever the bytes are.
//
// The same functions run in two builds: under libFuzzer (clang,
// -DTOSGATE_FUZZ=ON, tests/fuzz/libfuzzer/) to search for new inputs, and
// in the ordinary test build (fuzz_test), which feeds every file of
// tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/ through
// them, so a crash once found stays fixed under gcc and the sanitizers too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tosgate::fuzz {

using Entry = void (*)(const uint8_t* data, size_t size);

// A policy file (and, after the first NUL byte, a list file it may name as
// lists/l.txt) through the loader and compiler.
void PolicyLoader(const uint8_t* data, size_t size);
// A request body through engine::ParseBody, in every API shape it reads.
void BodyParser(const uint8_t* data, size_t size);
// An HTTP request as a reverse proxy forwards it ("METHOD target" line,
// "name: value" header lines, a blank line, the body) through
// api::Translate under each configuration, from a trusted and an untrusted
// peer and as the inline proxy; what it accepts must forward the path it
// classified and hold no credential in the Request's headers.
void ForwardAuth(const uint8_t* data, size_t size);
// A request path through api::CanonicalPath, differentially: an accepted
// path is its own canonical form, holds nothing ambiguous, and equals what
// an independent RFC 3986 reference (decode once, remove_dot_segments)
// resolves it to. A violated property aborts.
void CanonicalPathDifferential(const uint8_t* data, size_t size);
// A traffic capture: each line through api::ParseCaptureLine and
// api::RequestFromDescription, as `tosgate replay` reads it.
void Capture(const uint8_t* data, size_t size);
// A policy test file through policies::ParseTestFile and, when it parses,
// run against the default policy pack.
void TestFile(const uint8_t* data, size_t size);
// Stored audit decisions: fields of a record as the store gives them back
// (any bytes) through the chain hash and the CSV / JSON export, and the
// strings a user passes to `tosgate audit` (cursor, time, hex hash).
void AuditRecord(const uint8_t* data, size_t size);

struct Target {
  const char* name;  // also the corpus folder and the fuzzer's name
  Entry entry;
};

inline constexpr Target kTargets[] = {
    {"policy_loader", PolicyLoader}, {"body_parser", BodyParser},   {"forward_auth", ForwardAuth},
    {"capture", Capture},            {"test_file", TestFile},       {"audit_record", AuditRecord},
    {"canonical_path", CanonicalPathDifferential},
};

}  // namespace tosgate::fuzz
