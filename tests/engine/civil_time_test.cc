#include <doctest/doctest.h>

#include "engine/civil_time.h"

using namespace tosgate::engine;

TEST_CASE("civil dates and day numbers convert both ways, leap days and negative days included") {
  CHECK(DaysFromCivil(1970, 1, 1) == 0);
  CHECK(DaysFromCivil(2026, 1, 1) == 20454);
  CHECK(DaysFromCivil(2024, 3, 1) - DaysFromCivil(2024, 2, 28) == 2);  // 2024 is a leap year
  CHECK(DaysFromCivil(2100, 3, 1) - DaysFromCivil(2100, 2, 28) == 1);  // 2100 is not
  CHECK(DaysFromCivil(2000, 3, 1) - DaysFromCivil(2000, 2, 28) == 2);  // 2000 is
  for (int64_t d = -800000; d <= 800000; d += 997) {
    const CivilDate c = CivilFromDays(d);
    CHECK(DaysFromCivil(c.year, c.month, c.day) == d);
  }
  const CivilDate end = CivilFromDays(DaysFromCivil(2026, 12, 31));
  CHECK(end.year == 2026);
  CHECK(end.month == 12);
  CHECK(end.day == 31);
  CHECK(DaysOfMs(-1) == -1);
  CHECK(DaysOfMs(86'399'999) == 0);
  CHECK(DaysOfMs(86'400'000) == 1);
}
