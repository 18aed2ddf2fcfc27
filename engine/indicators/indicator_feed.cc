#include "engine/indicators/indicator_feed.h"

#include <map>
#include <mutex>

namespace tosgate::engine {

std::shared_ptr<IndicatorFeed> IndicatorFeedNamed(std::string_view name) {
  // Never destroyed: rules and pollers may hold feeds until exit.
  static std::mutex* mu = new std::mutex;
  static auto* feeds = new std::map<std::string, std::shared_ptr<IndicatorFeed>, std::less<>>;
  std::lock_guard<std::mutex> lock(*mu);
  auto it = feeds->find(name);
  if (it == feeds->end())
    it = feeds->emplace(std::string(name), std::make_shared<IndicatorFeed>(std::string(name))).first;
  return it->second;
}

}  // namespace tosgate::engine
