// Handler tests for the bitmap and HyperLogLog families: replies, encodings
// and what reaches replicas, through the real Dispatcher (no sockets). The
// expected replies are redis-server 7.0.15's.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/resp/reply.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

class BitsHllCommandsTest : public DispatcherFixture {
 protected:
  void SetUp() override {
    DispatcherFixture::SetUp();
    RecordPropagation();
  }
  std::string Run(std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out, session_.protocol);
    dispatcher_->Execute(session_, args, reply, kNow);
    return out;
  }
  std::vector<std::string> TakePropagated() {
    std::vector<std::string> out;
    out.swap(propagated_);
    return out;
  }
  Session session_;
};

TEST_F(BitsHllCommandsTest, SetBitMakesRawStringsAndPropagatesOnlyChanges) {
  EXPECT_EQ(Run({"SET", "k", "1"}), "+OK\r\n");
  TakePropagated();
  EXPECT_EQ(Run({"SETBIT", "k", "7", "0"}), ":1\r\n");  // '1' is 0x31
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "k"}), "$3\r\nraw\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "$1\r\n0\r\n");
  EXPECT_EQ(TakePropagated(), std::vector<std::string>({"0 SETBIT k 7 0"}));
  // Same bit again: no change, nothing propagated.
  EXPECT_EQ(Run({"SETBIT", "k", "7", "0"}), ":0\r\n");
  EXPECT_TRUE(TakePropagated().empty());
  EXPECT_EQ(Run({"SETBIT", "k", "4294967296", "1"}),
            "-ERR bit offset is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"SETBIT", "k", "1", "2"}), "-ERR bit is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"GETBIT", "k", "2"}), ":1\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "k", "0", "-1", "BIT"}), ":2\r\n");
  EXPECT_EQ(Run({"BITPOS", "k", "1", "0", "-1", "bit"}), ":2\r\n");
  EXPECT_EQ(Run({"BITPOS", "k", "2"}), "-ERR The bit argument must be 1 or 0.\r\n");
}

TEST_F(BitsHllCommandsTest, BitOpStoresRawAndDeletesOnEmptyResult) {
  Run({"SET", "a", "\xff"});
  EXPECT_EQ(Run({"BITOP", "NOT", "d", "a"}), ":1\r\n");
  EXPECT_EQ(Run({"GET", "d"}), std::string("$1\r\n\0\r\n", 7));
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "d"}), "$3\r\nraw\r\n");
  EXPECT_EQ(Run({"BITOP", "NOT", "d", "a", "b"}),
            "-ERR BITOP NOT must be called with a single source key.\r\n");
  EXPECT_EQ(Run({"BITOP", "AND", "d", "nokey"}), ":0\r\n");
  EXPECT_EQ(Run({"EXISTS", "d"}), ":0\r\n");
}

TEST_F(BitsHllCommandsTest, BitFieldOverflowAndReadOnlyVariant) {
  EXPECT_EQ(Run({"BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "4", "OVERFLOW", "SAT",
                 "INCRBY", "i8", "#1", "-200", "GET", "i8", "#1"}),
            "*3\r\n$-1\r\n:-128\r\n:-128\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "u64", "0"}),
            "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
            "supported but i64 is.\r\n");
  EXPECT_EQ(Run({"BITFIELD_RO", "f", "SET", "u8", "0", "1"}),
            "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "OVERFLOW", "bad"}), "-ERR Invalid OVERFLOW type specified\r\n");
  TakePropagated();
  // A write that changes nothing is not propagated.
  EXPECT_EQ(Run({"BITFIELD", "f", "SET", "i8", "#1", "-128"}), "*1\r\n:-128\r\n");
  EXPECT_TRUE(TakePropagated().empty());
}

TEST_F(BitsHllCommandsTest, PfCountCachesAndPropagatesOnce) {
  EXPECT_EQ(Run({"PFADD", "h", "a", "b", "c"}), ":1\r\n");
  EXPECT_EQ(Run({"PFADD", "h", "a"}), ":0\r\n");
  EXPECT_EQ(TakePropagated(), std::vector<std::string>({"0 PFADD h a b c"}));
  EXPECT_EQ(Run({"PFCOUNT", "h"}), ":3\r\n");
  EXPECT_EQ(TakePropagated(), std::vector<std::string>({"0 PFCOUNT h"}));
  EXPECT_EQ(Run({"PFCOUNT", "h"}), ":3\r\n");  // cached now
  EXPECT_TRUE(TakePropagated().empty());
  EXPECT_EQ(Run({"PFDEBUG", "ENCODING", "h"}), "+sparse\r\n");
  EXPECT_EQ(Run({"PFDEBUG", "DECODE", "h"}),
            "$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n");
  EXPECT_EQ(Run({"PFDEBUG", "TODENSE", "h"}), ":1\r\n");
  EXPECT_EQ(Run({"PFDEBUG", "ENCODING", "h"}), "+dense\r\n");
  EXPECT_EQ(Run({"STRLEN", "h"}), ":12304\r\n");
  EXPECT_EQ(Run({"PFDEBUG", "NOPE", "h"}), "-ERR Unknown PFDEBUG subcommand 'NOPE'\r\n");
  EXPECT_EQ(Run({"PFDEBUG", "ENCODING", "nokey"}), "-ERR The specified key does not exist\r\n");
}

TEST_F(BitsHllCommandsTest, InvalidHllsAreRefused) {
  Run({"SET", "s", "12345"});
  EXPECT_EQ(Run({"PFADD", "s", "x"}),
            "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n");
  Run({"RPUSH", "l", "x"});
  EXPECT_EQ(Run({"PFCOUNT", "l"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  Run({"PFADD", "h", "a", "b", "c"});
  Run({"APPEND", "h", "hello"});
  EXPECT_EQ(Run({"PFCOUNT", "h"}), "-INVALIDOBJ Corrupted HLL object detected\r\n");
  EXPECT_EQ(Run({"PFMERGE", "d", "h"}), "-INVALIDOBJ Corrupted HLL object detected\r\n");
}

class BitsHllNoSparseTest : public BitsHllCommandsTest {
 protected:
  std::string ConfigText() const override { return "hll-sparse-max-bytes 0\n"; }
};

TEST_F(BitsHllNoSparseTest, SparseMaxBytesZeroGoesDenseOnFirstGrowth) {
  EXPECT_EQ(Run({"PFADD", "h"}), ":1\r\n");
  EXPECT_EQ(Run({"PFDEBUG", "ENCODING", "h"}), "+sparse\r\n");
  EXPECT_EQ(Run({"PFADD", "h", "a"}), ":1\r\n");
  EXPECT_EQ(Run({"PFDEBUG", "ENCODING", "h"}), "+dense\r\n");
}

}  // namespace
}  // namespace shardnode::node
