#include "node/keyspace/types/list_object.h"

#include <utility>

namespace shardnode::node {

std::string ListObject::PopFront() {
  std::string v = std::move(items_.front());
  items_.pop_front();
  return v;
}

std::string ListObject::PopBack() {
  std::string v = std::move(items_.back());
  items_.pop_back();
  return v;
}

}  // namespace shardnode::node
