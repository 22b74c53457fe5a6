// The messages of the Redis Cluster bus (protocol version 1, as spoken by
// redis-server 7.0.15), as plain values: a fixed 2256-byte header and one
// body per message type. The byte layout is in clusterbus/FORMAT.md; the
// conversion to and from bytes is in clusterbus/codec/codec.h.
//
// Pure value types with no synchronisation; any thread may use its own copies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "slots/slot_set.h"

namespace shardnode::clusterbus {

// Sizes on the wire.
inline constexpr size_t kHeaderSize = 2256;  // Bytes before the body.
inline constexpr size_t kNodeIdSize = 40;    // A node ID: 40 hex chars, no NUL.
inline constexpr size_t kIpFieldSize = 46;   // NUL-terminated text, zero padded.
inline constexpr size_t kGossipEntrySize = 104;
inline constexpr size_t kPingExtHeaderSize = 8;  // length (u32) + type (u16) + unused (u16).
inline constexpr size_t kFailMessageSize = kHeaderSize + kNodeIdSize;               // 2296
inline constexpr size_t kPublishFixedSize = kHeaderSize + 8;                        // 2264
inline constexpr size_t kUpdateMessageSize = kHeaderSize + 8 + kNodeIdSize + 2048;  // 4352
inline constexpr size_t kModuleFixedSize = kHeaderSize + 13;                        // 2269
inline constexpr uint16_t kProtocolVersion = 1;

// The `type` field. Values >= 11 are unknown to 7.0.15: they are still
// representable (the enum has a fixed underlying type) and decode to
// UnknownBody.
enum class MessageType : uint16_t {
  kPing = 0,
  kPong = 1,
  kMeet = 2,
  kFail = 3,
  kPublish = 4,
  kFailoverAuthRequest = 5,
  kFailoverAuthAck = 6,
  kUpdate = 7,
  kMfStart = 8,
  kModule = 9,
  kPublishShard = 10,
};
inline constexpr int kNumMessageTypes = 11;

// True for types 0..10.
inline bool IsKnownType(MessageType type) { return static_cast<uint16_t>(type) < kNumMessageTypes; }
// True for PING, PONG and MEET (the types carrying gossip and extensions).
inline bool IsPingType(MessageType type) {
  return type == MessageType::kPing || type == MessageType::kPong || type == MessageType::kMeet;
}
// Redis's name of a type, as in its logs and CLUSTER INFO stats ("ping",
// "auth-req", "publishshard", ...); "unknown" for types >= 11.
std::string_view MessageTypeName(MessageType type);

// Node flags (u16), in the header (the sender's own) and in gossip entries.
// Extra, unknown bits are legal and must be carried through.
inline constexpr uint16_t kNodeFlagPrimary = 1;  // Wire name MASTER.
inline constexpr uint16_t kNodeFlagReplica = 2;  // Wire name SLAVE.
inline constexpr uint16_t kNodeFlagPfail = 4;
inline constexpr uint16_t kNodeFlagFail = 8;
inline constexpr uint16_t kNodeFlagMyself = 16;
inline constexpr uint16_t kNodeFlagHandshake = 32;
inline constexpr uint16_t kNodeFlagNoAddr = 64;
inline constexpr uint16_t kNodeFlagMeet = 128;
inline constexpr uint16_t kNodeFlagMigrateTo = 256;
inline constexpr uint16_t kNodeFlagNoFailover = 512;

// Bits of mflags[0].
inline constexpr uint8_t kMsgFlagPaused = 0x01;    // Primary paused for a manual failover.
inline constexpr uint8_t kMsgFlagForceAck = 0x02;  // AUTH_REQUEST: vote even if primary not FAIL.
inline constexpr uint8_t kMsgFlagExtData = 0x04;   // PING/PONG/MEET carries extensions.

// Header `state`.
inline constexpr uint8_t kClusterStateOk = 0;
inline constexpr uint8_t kClusterStateFail = 1;

// Ping extension types. 7.0.15 knows only the hostname extension; other types
// are carried opaquely (receivers skip them).
inline constexpr uint16_t kPingExtHostname = 0;

// The fixed header. Node IDs are raw 40-byte strings (Decode always yields 40
// bytes; Encode writes at most 40 bytes and zero pads shorter values). Text
// fields (myip) stop at the first NUL.
struct MessageHeader {
  std::array<char, 4> sig = {'R', 'C', 'm', 'b'};  // Encode writes it as given.
  uint32_t totlen = 0;  // Set by Decode; Encode ignores it and computes the length.
  uint16_t version = kProtocolVersion;
  uint16_t port = 0;  // Announced client port (the TLS port under tls-cluster).
  MessageType type = MessageType::kPing;
  // Gossip entries. For PING/PONG/MEET Encode writes the body's gossip count
  // instead; for other types it is written as given (0 from Redis).
  uint16_t count = 0;
  uint64_t current_epoch = 0;
  uint64_t config_epoch = 0;  // Sender's, or its primary's when a replica.
  uint64_t offset = 0;        // Replication offset.
  std::string sender;         // Sender node ID.
  slots::SlotSet myslots;     // Sender's slots, or its primary's when a replica.
  std::string slaveof;        // Primary's node ID; empty = none (40 zero bytes).
  std::string myip;           // cluster-announce-ip, empty when not announced.
  // Number of ping extensions. For PING/PONG/MEET with a non-empty extension
  // list Encode writes the list's size (and sets kMsgFlagExtData); otherwise
  // it is written as given.
  uint16_t extensions = 0;
  uint16_t pport = 0;  // Plaintext client port under TLS, else 0.
  uint16_t cport = 0;  // Announced bus port.
  uint16_t flags = 0;  // Sender's node flags (kNodeFlag*).
  uint8_t state = kClusterStateOk;
  std::array<uint8_t, 3> mflags = {0, 0, 0};  // mflags[0]: kMsgFlag*.

  bool operator==(const MessageHeader&) const = default;
};

// One gossip entry of PING/PONG/MEET: what the sender knows of another node.
struct GossipEntry {
  std::string node_id;
  uint32_t ping_sent = 0;      // Seconds (ms / 1000); 0 when no ping is pending.
  uint32_t pong_received = 0;  // Seconds.
  std::string ip;              // Up to the first NUL.
  uint16_t port = 0;
  uint16_t cport = 0;
  uint16_t flags = 0;
  uint16_t pport = 0;

  bool operator==(const GossipEntry&) const = default;
};

// One ping extension. `data` is everything after the 8-byte extension header,
// padding included; Encode zero pads it to a multiple of 8.
struct PingExtension {
  uint16_t type = kPingExtHostname;
  std::string data;

  bool operator==(const PingExtension&) const = default;
};

// The hostname extension as 7.0.15 writes it: hostname, NUL, zero padding to 8.
PingExtension MakeHostnameExtension(std::string_view hostname);

// PING, PONG, MEET.
struct PingBody {
  std::vector<GossipEntry> gossip;
  std::vector<PingExtension> extensions;

  // The hostname of the first hostname extension (up to its first NUL), or
  // nullopt when there is none (a receiver then clears the sender's hostname).
  std::optional<std::string> Hostname() const;

  bool operator==(const PingBody&) const = default;
};

// FAIL: `node_id` is now FAIL.
struct FailBody {
  std::string node_id;
  bool operator==(const FailBody&) const = default;
};

// PUBLISH and PUBLISHSHARD.
struct PublishBody {
  std::string channel;
  std::string message;
  bool operator==(const PublishBody&) const = default;
};

// UPDATE: the slots served by `node_id` as of `config_epoch`.
struct UpdateBody {
  uint64_t config_epoch = 0;
  std::string node_id;
  slots::SlotSet slots;
  bool operator==(const UpdateBody&) const = default;
};

// MODULE. The module ID is 8 opaque bytes that Redis copies in its host byte
// order; we read and write them little-endian, which gives the numeric value a
// little-endian Redis computed.
struct ModuleBody {
  uint64_t module_id = 0;
  uint8_t type = 0;
  std::string payload;
  bool operator==(const ModuleBody&) const = default;
};

// FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART: header only.
struct EmptyBody {
  bool operator==(const EmptyBody&) const = default;
};

// A type >= 11: the bytes after the header, unparsed.
struct UnknownBody {
  std::string bytes;
  bool operator==(const UnknownBody&) const = default;
};

using MessageBody =
    std::variant<EmptyBody, PingBody, FailBody, PublishBody, UpdateBody, ModuleBody, UnknownBody>;

// A whole message. The body alternative must match header.type:
// PingBody for PING/PONG/MEET, FailBody for FAIL, PublishBody for PUBLISH and
// PUBLISHSHARD, UpdateBody for UPDATE, ModuleBody for MODULE, EmptyBody for
// AUTH_REQUEST/AUTH_ACK/MFSTART, UnknownBody for types >= 11.
struct Message {
  MessageHeader header;
  MessageBody body;

  bool operator==(const Message&) const = default;
};

// True when `body` is the alternative that `type` requires.
bool BodyMatchesType(MessageType type, const MessageBody& body);

}  // namespace shardnode::clusterbus
