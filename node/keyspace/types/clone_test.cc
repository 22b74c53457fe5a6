// TypedObject::Clone and Value::Clone (COPY): a deep copy in the same
// encoding, independent of the original.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/zset_object.h"
#include "node/keyspace/value.h"

namespace shardnode::node {
namespace {

template <typename T>
T& As(const std::unique_ptr<TypedObject>& p) {
  return *static_cast<T*>(p.get());
}

TEST(CloneTest, ZSetBothEncodings) {
  for (int n : {3, 300}) {
    ZSetObject z;
    for (int i = 0; i < n; ++i) z.Insert("m" + std::to_string(i), i * 0.5);
    auto c = z.Clone();
    auto& copy = As<ZSetObject>(c);
    EXPECT_EQ(copy.EncodingName(), z.EncodingName());
    ASSERT_EQ(copy.Size(), z.Size());
    for (size_t r = 0; r < z.Size(); ++r) EXPECT_EQ(copy.At(r), z.At(r));
    copy.Remove("m0");
    EXPECT_TRUE(z.Score("m0").has_value());
  }
}

TEST(CloneTest, SetBothEncodings) {
  SetObject ints, strs;
  for (int i = 0; i < 10; ++i) ints.Add(std::to_string(i));
  for (int i = 0; i < 10; ++i) strs.Add("s" + std::to_string(i));
  for (SetObject* s : {&ints, &strs}) {
    auto c = s->Clone();
    auto& copy = As<SetObject>(c);
    EXPECT_EQ(copy.EncodingName(), s->EncodingName());
    EXPECT_EQ(copy.Members().size(), 10u);
    copy.Remove(s->Members()[0]);
    EXPECT_EQ(s->Size(), 10u);
    EXPECT_EQ(copy.Size(), 9u);
  }
}

TEST(CloneTest, HashBothEncodings) {
  for (int n : {3, 600}) {
    HashObject h;
    for (int i = 0; i < n; ++i) h.Set("f" + std::to_string(i), std::to_string(i));
    auto c = h.Clone();
    auto& copy = As<HashObject>(c);
    EXPECT_EQ(copy.EncodingName(), h.EncodingName());
    EXPECT_EQ(copy.Size(), h.Size());
    std::string scratch;
    EXPECT_EQ(*copy.Get("f2", &scratch), "2");
    copy.Set("f2", "x");
    EXPECT_EQ(*h.Get("f2", &scratch), "2");
  }
}

TEST(CloneTest, ListManyNodes) {
  ListObject l;
  for (int i = 0; i < 5000; ++i) l.PushBack("element-" + std::to_string(i));
  auto c = l.Clone();
  auto& copy = As<ListObject>(c);
  ASSERT_EQ(copy.Size(), l.Size());
  EXPECT_EQ(copy.node_count(), l.node_count());
  std::string a, b;
  EXPECT_EQ(copy.Get(4321, &a), l.Get(4321, &b));
  copy.PopFront();
  EXPECT_EQ(l.Size(), 5000u);
}

TEST(CloneTest, ValueKeepsStringEncodings) {
  const Value i = Value::FromStringTryInt("12345");
  const Value e = Value::FromString("short");
  const Value raw = Value::FromStringRaw("short");
  const Value heap = Value::FromString(std::string(100, 'x'));
  for (const Value* v : {&i, &e, &raw, &heap}) {
    const Value c = v->Clone();
    EXPECT_EQ(c.EncodingName(), v->EncodingName());
    EXPECT_EQ(c.ToString(), v->ToString());
  }
  auto z = std::make_unique<ZSetObject>();
  z->Insert("a", 1);
  const Value zv = Value::FromObject(ValueType::kZSet, std::move(z));
  const Value zc = zv.Clone();
  EXPECT_EQ(zc.type(), ValueType::kZSet);
  EXPECT_NE(zc.object(), zv.object());
}

}  // namespace
}  // namespace shardnode::node
