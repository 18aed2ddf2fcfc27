// libFuzzer's entry point for one target; TOSGATE_FUZZ_ENTRY names which
// (tests/fuzz/CMakeLists.txt builds one executable per target).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tosgate::fuzz::TOSGATE_FUZZ_ENTRY(data, size);
  return 0;
}
