#include "engine/snapshot.h"

#include <algorithm>

namespace tosgate::engine {

std::string_view PolicySnapshot::OperationFor(std::string_view method,
                                              std::string_view path) const {
  for (const OperationDef& op : operations) {
    if (!op.methods.empty() &&
        std::find(op.methods.begin(), op.methods.end(), method) == op.methods.end())
      continue;
    for (const std::string& p : op.paths) {
      if (!p.empty() && p.back() == '*') {
        if (path.substr(0, p.size() - 1) == std::string_view(p).substr(0, p.size() - 1))
          return op.name;
      } else if (path == p) {
        return op.name;
      }
    }
  }
  return {};
}

}  // namespace tosgate::engine
