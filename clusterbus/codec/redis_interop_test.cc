// Byte-exact comparison with redis-server 7.0.15's bus messages.
//
// FixtureTest replays captures committed under tests/fixtures/bus/ (always
// runs). LiveRedisTest starts a real redis-server in cluster mode on
// 127.0.0.1, MEETs it with a message we encode, and checks its PONG, PING and
// PUBLISH; it skips when /usr/bin/redis-server is missing. With
// SHARDNODE_CAPTURE_DIR set it also writes its captures there as fixtures.
// SHARDNODE_FIXTURES_DIR overrides where tests/fixtures is looked for.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "clusterbus/codec/codec.h"
#include "gtest/gtest.h"

namespace shardnode::clusterbus {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kRedisServer[] = "/usr/bin/redis-server";
constexpr char kHostname[] = "node-one.example";

// ---- Hex fixtures: '#' comment lines, then hex digits (whitespace ignored).

std::string ToHex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    out += kDigits[static_cast<uint8_t>(bytes[i]) >> 4];
    out += kDigits[static_cast<uint8_t>(bytes[i]) & 15];
    if (i % 32 == 31) out += '\n';
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

bool FromHex(const std::string& text, std::string* out) {
  std::istringstream in(text);
  std::string line, hex;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') continue;
    for (char c : line) {
      if (std::isxdigit(static_cast<unsigned char>(c)))
        hex += c;
      else if (!std::isspace(static_cast<unsigned char>(c)))
        return false;
    }
  }
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    out->push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return true;
}

fs::path FixtureDir() {
  if (const char* dir = std::getenv("SHARDNODE_FIXTURES_DIR")) return fs::path(dir) / "bus";
  // The source tree, as CMake gives it to the test binaries.
  return fs::path(SHARDNODE_SOURCE_DIR) / "tests" / "fixtures" / "bus";
}

std::string ReadFixture(const std::string& name) {
  std::ifstream in(FixtureDir() / name);
  std::stringstream text;
  text << in.rdbuf();
  std::string bytes;
  EXPECT_TRUE(in.good() || in.eof()) << "cannot read fixture " << (FixtureDir() / name);
  EXPECT_TRUE(FromHex(text.str(), &bytes)) << name;
  return bytes;
}

// ---- Checks shared by the fixture and live tests.

// Decodes exactly one message and re-encodes it to the same bytes.
Message DecodeExact(const std::string& bytes) {
  Message m;
  size_t consumed = 0;
  std::string why;
  if (Decode(bytes, &consumed, &m, &why) != DecodeStatus::kMessage) {
    ADD_FAILURE() << "not decoded: " << why;
    return m;
  }
  EXPECT_EQ(consumed, bytes.size());
  EXPECT_EQ(Encode(m), bytes) << "re-encoding differs";
  return m;
}

bool IsHexId(const std::string& id) {
  return id.size() == 40 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Spec section 17: a fresh node's PONG to MEET.
void CheckFreshPong(const std::string& bytes) {
  ASSERT_EQ(bytes.size(), 2256u);
  Message m = DecodeExact(bytes);
  EXPECT_EQ(m.header.type, MessageType::kPong);
  EXPECT_EQ(bytes.substr(0, 10), std::string("RCmb\x00\x00\x08\xD0\x00\x01", 10));
  EXPECT_EQ(bytes.substr(12, 4), std::string("\x00\x01\x00\x00", 4));
  EXPECT_EQ(bytes.substr(16, 24), std::string(24, '\0'));
  EXPECT_TRUE(IsHexId(m.header.sender));
  EXPECT_EQ(bytes.substr(80, 2246 - 80), std::string(2246 - 80, '\0'));
  EXPECT_EQ(m.header.cport, m.header.port + 10000);
  EXPECT_EQ(m.header.flags, kNodeFlagMyself | kNodeFlagPrimary);
  EXPECT_EQ(bytes.substr(2250), std::string("\x00\x11\x01\x00\x00\x00", 6));
  // Our own encoding of the same content gives the same bytes.
  Message mine{MessageHeader{}, PingBody{}};
  mine.header.type = MessageType::kPong;
  mine.header.port = m.header.port;
  mine.header.cport = m.header.cport;
  mine.header.sender = m.header.sender;
  mine.header.flags = kNodeFlagMyself | kNodeFlagPrimary;
  mine.header.state = kClusterStateFail;
  EXPECT_EQ(Encode(mine), bytes);
}

// A PING from a node announcing kHostname that knows us only in handshake.
void CheckHostnamePing(const std::string& bytes) {
  Message m = DecodeExact(bytes);
  EXPECT_EQ(m.header.type, MessageType::kPing);
  EXPECT_EQ(m.header.extensions, 1);
  EXPECT_EQ(m.header.mflags[0], kMsgFlagExtData);
  const auto& ping = std::get<PingBody>(m.body);
  EXPECT_EQ(ping.Hostname(), kHostname);
  const size_t ext = 2256 + 104 * ping.gossip.size();
  ASSERT_EQ(bytes.size(), ext + 32);
  EXPECT_EQ(bytes.substr(ext, 8), std::string("\x00\x00\x00\x20\x00\x00\x00\x00", 8));
  EXPECT_EQ(bytes.substr(ext + 8), std::string(kHostname) + std::string(8, '\0'));
}

void CheckPublish(const std::string& bytes) {
  Message m = DecodeExact(bytes);
  EXPECT_EQ(m.header.type, MessageType::kPublish);
  EXPECT_EQ(std::get<PublishBody>(m.body), (PublishBody{"news", "hello bus"}));
  EXPECT_EQ(bytes.size(), 2264u + 4 + 9);
}

// A PONG carrying one gossip entry (another master on 127.0.0.1) and the
// hostname extension.
void CheckGossipPong(const std::string& bytes) {
  Message m = DecodeExact(bytes);
  EXPECT_EQ(m.header.type, MessageType::kPong);
  EXPECT_EQ(m.header.count, 1);
  const auto& ping = std::get<PingBody>(m.body);
  ASSERT_EQ(ping.gossip.size(), 1u);
  ASSERT_EQ(bytes.size(), 2256u + 104 + 32);
  const GossipEntry& g = ping.gossip[0];
  EXPECT_TRUE(IsHexId(g.node_id));
  EXPECT_EQ(g.ip, "127.0.0.1");
  EXPECT_EQ(g.cport, g.port + 10000);
  EXPECT_TRUE(g.flags & kNodeFlagPrimary);
  EXPECT_EQ(g.ping_sent, 0u);
  EXPECT_GT(g.pong_received, 1600000000u);  // Unix seconds.
  EXPECT_EQ(bytes.substr(2256 + 48, 46), std::string("127.0.0.1") + std::string(37, '\0'));
  EXPECT_EQ(bytes.substr(2256 + 102, 2), std::string(2, '\0'));
  EXPECT_EQ(ping.Hostname(), kHostname);
}

TEST(FixtureTest, FreshPongToMeet) { CheckFreshPong(ReadFixture("pong_to_meet.hex")); }
TEST(FixtureTest, PingWithHostnameExtension) {
  CheckHostnamePing(ReadFixture("ping_hostname.hex"));
}
TEST(FixtureTest, Publish) { CheckPublish(ReadFixture("publish.hex")); }
TEST(FixtureTest, PongWithGossipAndHostname) {
  CheckGossipPong(ReadFixture("pong_gossip_hostname.hex"));
}

// ---- Live redis-server.

bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

int PickClientPort() {
  std::mt19937 rng(static_cast<unsigned>(getpid()) ^
                   static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  for (int i = 0; i < 200; ++i) {
    int p = 20000 + static_cast<int>(rng() % 25000);
    if (PortFree(p) && PortFree(p + 10000)) return p;
  }
  return -1;
}

// A socket bound to an ephemeral 127.0.0.1 port, not yet listening (so that
// connections to it are refused until Listen()).
int BindEphemeral(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int ConnectUntil(int port, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) return fd;
    close(fd);
    poll(nullptr, 0, 20);
  }
  return -1;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads into *buf until `done(*buf)` or the deadline. False on EOF/timeout.
template <typename Done>
bool ReadUntil(int fd, std::string* buf, Clock::time_point deadline, Done done) {
  while (!done(*buf)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n <= 0) return false;
    buf->append(tmp, static_cast<size_t>(n));
  }
  return true;
}

// The next bus message on fd (raw bytes), or "" on timeout/error.
std::string ReadBusMessage(int fd, std::string* buf, Clock::time_point deadline) {
  Message m;
  size_t consumed = 0;
  bool ok = ReadUntil(fd, buf, deadline, [&](const std::string& b) {
    return Decode(b, &consumed, &m, nullptr) != DecodeStatus::kNeedMore;
  });
  if (!ok || consumed == 0) return "";
  std::string bytes = buf->substr(0, consumed);
  buf->erase(0, consumed);
  return bytes;
}

// Sends a RESP command on the client port and returns the first reply line.
std::string Command(int port, const std::vector<std::string>& args) {
  int fd = ConnectUntil(port, Clock::now() + std::chrono::seconds(5));
  if (fd < 0) return "";
  std::string req = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  std::string reply;
  if (SendAll(fd, req)) {
    // A line, or for a bulk string "$N\r\n" the N bytes after it.
    ReadUntil(fd, &reply, Clock::now() + std::chrono::seconds(5), [](const std::string& b) {
      size_t eol = b.find("\r\n");
      if (eol == std::string::npos) return false;
      if (b[0] != '$' || b[1] == '-') return true;
      return b.size() >= eol + 2 + std::stoul(b.substr(1, eol - 1)) + 2;
    });
  }
  close(fd);
  size_t eol = reply.find("\r\n");
  if (!reply.empty() && reply[0] == '$' && reply[1] != '-') {
    return reply.substr(eol + 2, std::stoul(reply.substr(1, eol - 1)));
  }
  return reply.substr(0, eol);
}

// A redis-server we started; stopped by pid and its directory removed.
class RedisProcess {
 public:
  bool Start(int port) {
    char tmpl[] = "/tmp/codec_redis_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return false;
    dir_ = tmpl;
    std::vector<std::string> args = {kRedisServer,
                                     "--port",
                                     std::to_string(port),
                                     "--bind",
                                     "127.0.0.1",
                                     "--cluster-enabled",
                                     "yes",
                                     "--cluster-config-file",
                                     dir_ + "/nodes.conf",
                                     "--dir",
                                     dir_,
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--logfile",
                                     dir_ + "/redis.log"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      // The server dies with the test even if the test crashes, and does not
      // hold the test's stdout/stderr open.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execv(kRedisServer, argv.data());
      _exit(127);
    }
    return true;
  }
  ~RedisProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      auto deadline = Clock::now() + std::chrono::seconds(5);
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
          break;
        }
        poll(nullptr, 0, 10);
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

 private:
  pid_t pid_ = -1;
  std::string dir_;
};

void SaveCapture(const std::string& name, const std::string& what, const std::string& bytes) {
  const char* dir = std::getenv("SHARDNODE_CAPTURE_DIR");
  if (dir == nullptr) return;
  std::ofstream out(fs::path(dir) / name);
  out << "# " << what << "\n# Captured from redis-server 7.0.15 by redis_interop_test.cc; "
      << bytes.size() << " bytes.\n"
      << ToHex(bytes);
}

TEST(LiveRedisTest, MeetPongPingPublishAndGossipAreByteExact) {
  if (access(kRedisServer, X_OK) != 0) {
    GTEST_SKIP() << kRedisServer << " is not installed; the fixture tests cover the same bytes";
  }
  const int port = PickClientPort();
  ASSERT_GT(port, 0) << "no free port pair";
  RedisProcess redis;
  ASSERT_TRUE(redis.Start(port));
  const auto deadline = Clock::now() + std::chrono::seconds(20);

  int our_bus_port = 0;
  int listener = BindEphemeral(&our_bus_port);
  ASSERT_GE(listener, 0);
  int out_fd = ConnectUntil(port + 10000, deadline);
  ASSERT_GE(out_fd, 0) << "redis-server bus port did not open";

  const std::string our_id = "c0dec0dec0dec0dec0dec0dec0dec0dec0dec0de";
  Message meet{MessageHeader{}, PingBody{}};
  meet.header.type = MessageType::kMeet;
  meet.header.sender = our_id;
  meet.header.port = static_cast<uint16_t>(our_bus_port);  // Never used as a client port here.
  meet.header.cport = static_cast<uint16_t>(our_bus_port);
  meet.header.flags = kNodeFlagMyself | kNodeFlagPrimary;
  meet.header.state = kClusterStateFail;
  ASSERT_TRUE(SendAll(out_fd, Encode(meet)));

  std::string out_buf;
  const std::string pong = ReadBusMessage(out_fd, &out_buf, deadline);
  ASSERT_FALSE(pong.empty()) << "no PONG to our MEET";
  SaveCapture("pong_to_meet.hex", "PONG from a fresh node answering MEET", pong);
  CheckFreshPong(pong);
  EXPECT_EQ(DecodeExact(pong).header.port, port);

  // Announce a hostname before letting the node connect back to us, so that
  // its first PING carries the hostname extension.
  ASSERT_EQ(Command(port, {"CONFIG", "SET", "cluster-announce-hostname", kHostname}), "+OK");
  ASSERT_EQ(listen(listener, 4), 0);
  pollfd p{listener, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1) << "redis-server did not connect to our bus port";
  int in_fd = accept(listener, nullptr, nullptr);
  ASSERT_GE(in_fd, 0);

  std::string in_buf;
  const std::string ping = ReadBusMessage(in_fd, &in_buf, deadline);
  ASSERT_FALSE(ping.empty()) << "no PING from redis-server";
  SaveCapture("ping_hostname.hex", "PING (handshake) from a node announcing node-one.example",
              ping);
  CheckHostnamePing(ping);

  // Finish the handshake, then PUBLISH reaches us on the same link.
  Message reply = meet;
  reply.header.type = MessageType::kPong;
  ASSERT_TRUE(SendAll(in_fd, Encode(reply)));
  std::string publish;
  while (publish.empty() && Clock::now() < deadline) {
    std::string reply_line = Command(port, {"PUBLISH", "news", "hello bus"});
    ASSERT_EQ(reply_line, ":0");
    auto wait = std::min(deadline, Clock::now() + std::chrono::milliseconds(500));
    for (std::string msg; !(msg = ReadBusMessage(in_fd, &in_buf, wait)).empty();) {
      Message m = DecodeExact(msg);
      if (m.header.type == MessageType::kPublish) {
        publish = msg;
        break;
      }
    }
  }
  ASSERT_FALSE(publish.empty()) << "no PUBLISH from redis-server";
  SaveCapture("publish.hex", "PUBLISH news \"hello bus\"", publish);
  CheckPublish(publish);

  // A second node joins: the PONGs answering our PINGs now gossip about it.
  const int port_b = PickClientPort();
  ASSERT_GT(port_b, 0);
  RedisProcess redis_b;
  ASSERT_TRUE(redis_b.Start(port_b));
  int probe = ConnectUntil(port_b, deadline);
  ASSERT_GE(probe, 0);
  close(probe);
  const std::string id_b = Command(port_b, {"CLUSTER", "MYID"});
  ASSERT_TRUE(IsHexId(id_b)) << id_b;
  ASSERT_EQ(Command(port, {"CLUSTER", "MEET", "127.0.0.1", std::to_string(port_b)}), "+OK");
  Message ping_a = meet;
  ping_a.header.type = MessageType::kPing;
  std::string gossip_pong;
  while (gossip_pong.empty() && Clock::now() < deadline) {
    ASSERT_TRUE(SendAll(out_fd, Encode(ping_a)));
    std::string msg = ReadBusMessage(out_fd, &out_buf, deadline);
    ASSERT_FALSE(msg.empty()) << "no PONG to our PING";
    Message m = DecodeExact(msg);
    ASSERT_EQ(m.header.type, MessageType::kPong);
    const auto& body = std::get<PingBody>(m.body);
    EXPECT_EQ(body.Hostname(), kHostname);
    if (body.gossip.size() == 1 && body.gossip[0].node_id == id_b) {
      gossip_pong = msg;
    } else {
      poll(nullptr, 0, 50);  // B still in handshake, or A gossiped about us.
    }
  }
  ASSERT_FALSE(gossip_pong.empty()) << "no PONG gossiping about the second node";
  SaveCapture("pong_gossip_hostname.hex",
              "PONG with one gossip entry and the hostname extension node-one.example",
              gossip_pong);
  CheckGossipPong(gossip_pong);
  const Message gossip_msg = DecodeExact(gossip_pong);
  const GossipEntry& g = std::get<PingBody>(gossip_msg.body).gossip[0];
  EXPECT_EQ(g.port, port_b);
  EXPECT_EQ(g.cport, port_b + 10000);

  close(in_fd);
  close(out_fd);
  close(listener);
}

}  // namespace
}  // namespace shardnode::clusterbus
