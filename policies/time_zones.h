// Time zones by IANA name for calendar budgets, read from the system's
// tz database ($TZDIR, else /usr/share/zoneinfo) when a policy is loaded,
// never per request.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/time_zone.h"
#include "tosgate/status.h"

namespace tosgate::policies {

// "Europe/Berlin", "America/New_York", "UTC". InvalidArgument for a name
// that is not an Area/City path or is not in the database.
Result<std::shared_ptr<const engine::TimeZone>> LoadTimeZone(std::string_view name);

}  // namespace tosgate::policies
