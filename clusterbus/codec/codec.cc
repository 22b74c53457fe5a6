#include "clusterbus/codec/codec.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <type_traits>
#include <variant>

#include "absl/strings/str_cat.h"

namespace shardnode::clusterbus {
namespace {

// Header field offsets (see FORMAT.md).
constexpr size_t kOffTotlen = 4;
constexpr size_t kOffVersion = 8;
constexpr size_t kOffPort = 10;
constexpr size_t kOffType = 12;
constexpr size_t kOffCount = 14;
constexpr size_t kOffCurrentEpoch = 16;
constexpr size_t kOffConfigEpoch = 24;
constexpr size_t kOffOffset = 32;
constexpr size_t kOffSender = 40;
constexpr size_t kOffMyslots = 80;
constexpr size_t kOffSlaveof = 2128;
constexpr size_t kOffMyip = 2168;
constexpr size_t kOffExtensions = 2214;
constexpr size_t kOffPport = 2246;
constexpr size_t kOffCport = 2248;
constexpr size_t kOffFlags = 2250;
constexpr size_t kOffState = 2252;
constexpr size_t kOffMflags = 2253;
static_assert(kOffMflags + 3 == kHeaderSize);

// Offsets inside a gossip entry.
constexpr size_t kGossipOffPingSent = 40;
constexpr size_t kGossipOffPongReceived = 44;
constexpr size_t kGossipOffIp = 48;
constexpr size_t kGossipOffPort = 94;
constexpr size_t kGossipOffCport = 96;
constexpr size_t kGossipOffFlags = 98;
constexpr size_t kGossipOffPport = 100;
static_assert(kGossipOffPport + 4 == kGossipEntrySize);

constexpr char kBadFrameText[] = "Bad message length or signature received from Cluster bus.";

uint64_t ReadBe(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint16_t Read16(std::string_view m, size_t off) {
  return static_cast<uint16_t>(ReadBe(m.data() + off, 2));
}
uint32_t Read32(std::string_view m, size_t off) {
  return static_cast<uint32_t>(ReadBe(m.data() + off, 4));
}
uint64_t Read64(std::string_view m, size_t off) { return ReadBe(m.data() + off, 8); }

void WriteBe(char* p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

// Text up to the first NUL of a fixed-size field.
std::string ReadText(std::string_view m, size_t off, size_t size) {
  std::string_view field = m.substr(off, size);
  return std::string(field.substr(0, field.find('\0')));
}

// A node ID field: empty when all zero, else the raw bytes.
std::string ReadOptionalId(std::string_view m, size_t off) {
  std::string_view field = m.substr(off, kNodeIdSize);
  if (field.find_first_not_of('\0') == std::string_view::npos) return "";
  return std::string(field);
}

// Copies at most `size` bytes of `value` to p; the rest of the field was zeroed.
void WriteField(char* p, std::string_view value, size_t size) {
  std::memcpy(p, value.data(), std::min(value.size(), size));
}

size_t PaddedSize(size_t n) { return (n + 7) / 8 * 8; }

void EncodeHeader(const MessageHeader& h, uint32_t totlen, uint16_t count, uint16_t extensions,
                  uint8_t mflags0, char* p) {
  std::memcpy(p, h.sig.data(), 4);
  WriteBe(p + kOffTotlen, totlen, 4);
  WriteBe(p + kOffVersion, h.version, 2);
  WriteBe(p + kOffPort, h.port, 2);
  WriteBe(p + kOffType, static_cast<uint16_t>(h.type), 2);
  WriteBe(p + kOffCount, count, 2);
  WriteBe(p + kOffCurrentEpoch, h.current_epoch, 8);
  WriteBe(p + kOffConfigEpoch, h.config_epoch, 8);
  WriteBe(p + kOffOffset, h.offset, 8);
  WriteField(p + kOffSender, h.sender, kNodeIdSize);
  std::memcpy(p + kOffMyslots, h.myslots.bytes(), slots::SlotSet::kBytes);
  WriteField(p + kOffSlaveof, h.slaveof, kNodeIdSize);
  WriteField(p + kOffMyip, h.myip, kIpFieldSize);
  WriteBe(p + kOffExtensions, extensions, 2);
  WriteBe(p + kOffPport, h.pport, 2);
  WriteBe(p + kOffCport, h.cport, 2);
  WriteBe(p + kOffFlags, h.flags, 2);
  p[kOffState] = static_cast<char>(h.state);
  p[kOffMflags] = static_cast<char>(mflags0);
  p[kOffMflags + 1] = static_cast<char>(h.mflags[1]);
  p[kOffMflags + 2] = static_cast<char>(h.mflags[2]);
}

// Body size in bytes for Encode.
size_t BodySize(const MessageBody& body) {
  return std::visit(
      [](const auto& b) -> size_t {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, PingBody>) {
          size_t n = b.gossip.size() * kGossipEntrySize;
          for (const PingExtension& e : b.extensions)
            n += kPingExtHeaderSize + PaddedSize(e.data.size());
          return n;
        } else if constexpr (std::is_same_v<T, FailBody>) {
          return kNodeIdSize;
        } else if constexpr (std::is_same_v<T, PublishBody>) {
          return 8 + b.channel.size() + b.message.size();
        } else if constexpr (std::is_same_v<T, UpdateBody>) {
          return kUpdateMessageSize - kHeaderSize;
        } else if constexpr (std::is_same_v<T, ModuleBody>) {
          return 13 + b.payload.size();
        } else if constexpr (std::is_same_v<T, UnknownBody>) {
          return b.bytes.size();
        } else {
          return 0;
        }
      },
      body);
}

void EncodeGossip(const GossipEntry& g, char* p) {
  WriteField(p, g.node_id, kNodeIdSize);
  WriteBe(p + kGossipOffPingSent, g.ping_sent, 4);
  WriteBe(p + kGossipOffPongReceived, g.pong_received, 4);
  WriteField(p + kGossipOffIp, g.ip, kIpFieldSize);
  WriteBe(p + kGossipOffPort, g.port, 2);
  WriteBe(p + kGossipOffCport, g.cport, 2);
  WriteBe(p + kGossipOffFlags, g.flags, 2);
  WriteBe(p + kGossipOffPport, g.pport, 2);
}

// Writes the body at p (already zeroed, BodySize bytes).
void EncodeBody(const MessageBody& body, char* p) {
  if (const auto* ping = std::get_if<PingBody>(&body)) {
    for (const GossipEntry& g : ping->gossip) {
      EncodeGossip(g, p);
      p += kGossipEntrySize;
    }
    for (const PingExtension& e : ping->extensions) {
      size_t len = kPingExtHeaderSize + PaddedSize(e.data.size());
      WriteBe(p, len, 4);
      WriteBe(p + 4, e.type, 2);
      std::memcpy(p + kPingExtHeaderSize, e.data.data(), e.data.size());
      p += len;
    }
  } else if (const auto* fail = std::get_if<FailBody>(&body)) {
    WriteField(p, fail->node_id, kNodeIdSize);
  } else if (const auto* pub = std::get_if<PublishBody>(&body)) {
    WriteBe(p, pub->channel.size(), 4);
    WriteBe(p + 4, pub->message.size(), 4);
    std::memcpy(p + 8, pub->channel.data(), pub->channel.size());
    std::memcpy(p + 8 + pub->channel.size(), pub->message.data(), pub->message.size());
  } else if (const auto* upd = std::get_if<UpdateBody>(&body)) {
    WriteBe(p, upd->config_epoch, 8);
    WriteField(p + 8, upd->node_id, kNodeIdSize);
    std::memcpy(p + 8 + kNodeIdSize, upd->slots.bytes(), slots::SlotSet::kBytes);
  } else if (const auto* mod = std::get_if<ModuleBody>(&body)) {
    uint64_t id = mod->module_id;
    for (int i = 0; i < 8; ++i, id >>= 8) p[i] = static_cast<char>(id & 0xff);
    WriteBe(p + 8, mod->payload.size(), 4);
    p[12] = static_cast<char>(mod->type);
    std::memcpy(p + 13, mod->payload.data(), mod->payload.size());
  } else if (const auto* unk = std::get_if<UnknownBody>(&body)) {
    std::memcpy(p, unk->bytes.data(), unk->bytes.size());
  }
}

// ---- Decoding ----

// MessageTypeName as abseil's string_view (a distinct type in Debian's abseil).
absl::string_view TypeName(MessageType type) {
  std::string_view name = MessageTypeName(type);
  return absl::string_view(name.data(), name.size());
}

// The text clusterProcessPacket logs for a length mismatch.
std::string LengthError(MessageType type, uint64_t totlen, uint64_t explen) {
  return absl::StrCat("Received invalid ", TypeName(type), " packet of length ", totlen,
                      " but expected length ", explen);
}

GossipEntry DecodeGossip(std::string_view m, size_t off) {
  GossipEntry g;
  g.node_id = std::string(m.substr(off, kNodeIdSize));
  g.ping_sent = Read32(m, off + kGossipOffPingSent);
  g.pong_received = Read32(m, off + kGossipOffPongReceived);
  g.ip = ReadText(m, off + kGossipOffIp, kIpFieldSize);
  g.port = Read16(m, off + kGossipOffPort);
  g.cport = Read16(m, off + kGossipOffCport);
  g.flags = Read16(m, off + kGossipOffFlags);
  g.pport = Read16(m, off + kGossipOffPport);
  return g;
}

// PING/PONG/MEET: the expected length is the gossip section plus, only when
// EXT_DATA is set, each extension's declared length. Returns false and sets
// *why when the message must be dropped.
bool DecodePing(std::string_view m, const MessageHeader& h, PingBody* body, std::string* why) {
  const uint64_t totlen = m.size();
  const uint64_t gossip_end = kHeaderSize + uint64_t{kGossipEntrySize} * h.count;
  if (gossip_end > totlen) {
    *why = LengthError(h.type, totlen, gossip_end);
    return false;
  }
  uint64_t explen = gossip_end;
  std::vector<PingExtension> exts;
  if (h.mflags[0] & kMsgFlagExtData) {
    for (uint16_t i = 0; i < h.extensions; ++i) {
      const uint64_t remaining = totlen - explen;
      // Redis would read an extension header past the message end here; we
      // drop the message instead.
      if (remaining < kPingExtHeaderSize) {
        *why = absl::StrCat("Received invalid ", TypeName(h.type),
                            " packet with extension data that exceeds total packet length (",
                            totlen, ")");
        return false;
      }
      const uint32_t extlen = Read32(m, explen);
      if (extlen % 8 != 0) {
        *why = absl::StrCat("Received a ", TypeName(h.type), " packet without proper padding (",
                            extlen, " bytes)");
        return false;
      }
      if (remaining < extlen) {
        *why = absl::StrCat("Received invalid ", TypeName(h.type),
                            " packet with extension data that exceeds total packet length (",
                            totlen, ")");
        return false;
      }
      // A zero length would make Redis revisit the same extension; it cannot
      // hold its own header, so we drop the message.
      if (extlen < kPingExtHeaderSize) {
        *why =
            absl::StrCat("Received invalid ", TypeName(h.type),
                         " packet with an extension shorter than its header (", extlen, " bytes)");
        return false;
      }
      PingExtension e;
      e.type = Read16(m, explen + 4);
      e.data = std::string(m.substr(explen + kPingExtHeaderSize, extlen - kPingExtHeaderSize));
      exts.push_back(std::move(e));
      explen += extlen;
    }
  }
  if (explen != totlen) {
    *why = LengthError(h.type, totlen, explen);
    return false;
  }
  body->gossip.clear();
  body->gossip.reserve(h.count);
  for (uint16_t i = 0; i < h.count; ++i) {
    body->gossip.push_back(DecodeGossip(m, kHeaderSize + size_t{i} * kGossipEntrySize));
  }
  body->extensions = std::move(exts);
  return true;
}

// Checks totlen against the type's exact length and decodes the body.
bool DecodeBody(std::string_view m, const MessageHeader& h, MessageBody* body, std::string* why) {
  const uint64_t totlen = m.size();
  auto expect = [&](uint64_t explen) {
    if (totlen == explen) return true;
    *why = LengthError(h.type, totlen, explen);
    return false;
  };
  switch (h.type) {
    case MessageType::kPing:
    case MessageType::kPong:
    case MessageType::kMeet: {
      PingBody ping;
      if (!DecodePing(m, h, &ping, why)) return false;
      *body = std::move(ping);
      return true;
    }
    case MessageType::kFail:
      if (!expect(kFailMessageSize)) return false;
      *body = FailBody{std::string(m.substr(kHeaderSize, kNodeIdSize))};
      return true;
    case MessageType::kPublish:
    case MessageType::kPublishShard: {
      // The two lengths sit inside the body: without them the minimum applies.
      if (totlen < kPublishFixedSize) return expect(kPublishFixedSize);
      const uint64_t channel_len = Read32(m, kHeaderSize);
      const uint64_t message_len = Read32(m, kHeaderSize + 4);
      // 64-bit sum: Redis's 32-bit sum can wrap and accept a lying packet.
      if (!expect(kPublishFixedSize + channel_len + message_len)) return false;
      *body = PublishBody{std::string(m.substr(kPublishFixedSize, channel_len)),
                          std::string(m.substr(kPublishFixedSize + channel_len))};
      return true;
    }
    case MessageType::kFailoverAuthRequest:
    case MessageType::kFailoverAuthAck:
    case MessageType::kMfStart:
      if (!expect(kHeaderSize)) return false;
      *body = EmptyBody{};
      return true;
    case MessageType::kUpdate: {
      if (!expect(kUpdateMessageSize)) return false;
      UpdateBody upd;
      upd.config_epoch = Read64(m, kHeaderSize);
      upd.node_id = std::string(m.substr(kHeaderSize + 8, kNodeIdSize));
      upd.slots = slots::SlotSet::FromBytes(
          reinterpret_cast<const uint8_t*>(m.data() + kHeaderSize + 8 + kNodeIdSize));
      *body = std::move(upd);
      return true;
    }
    case MessageType::kModule: {
      if (totlen < kModuleFixedSize) return expect(kModuleFixedSize);
      const uint64_t len = Read32(m, kHeaderSize + 8);
      if (!expect(kModuleFixedSize + len)) return false;
      ModuleBody mod;
      for (int i = 7; i >= 0; --i) {
        mod.module_id = (mod.module_id << 8) | static_cast<uint8_t>(m[kHeaderSize + i]);
      }
      mod.type = static_cast<uint8_t>(m[kHeaderSize + 12]);
      mod.payload = std::string(m.substr(kModuleFixedSize));
      *body = std::move(mod);
      return true;
    }
  }
  // Unknown type: assumed well formed, as Redis does.
  *body = UnknownBody{std::string(m.substr(kHeaderSize))};
  *why = absl::StrCat("Received unknown packet type: ", static_cast<uint16_t>(h.type));
  return true;
}

MessageHeader DecodeHeader(std::string_view m) {
  MessageHeader h;
  std::memcpy(h.sig.data(), m.data(), 4);
  h.totlen = Read32(m, kOffTotlen);
  h.version = Read16(m, kOffVersion);
  h.port = Read16(m, kOffPort);
  h.type = static_cast<MessageType>(Read16(m, kOffType));
  h.count = Read16(m, kOffCount);
  h.current_epoch = Read64(m, kOffCurrentEpoch);
  h.config_epoch = Read64(m, kOffConfigEpoch);
  h.offset = Read64(m, kOffOffset);
  h.sender = std::string(m.substr(kOffSender, kNodeIdSize));
  h.myslots = slots::SlotSet::FromBytes(reinterpret_cast<const uint8_t*>(m.data() + kOffMyslots));
  h.slaveof = ReadOptionalId(m, kOffSlaveof);
  h.myip = ReadText(m, kOffMyip, kIpFieldSize);
  h.extensions = Read16(m, kOffExtensions);
  h.pport = Read16(m, kOffPport);
  h.cport = Read16(m, kOffCport);
  h.flags = Read16(m, kOffFlags);
  h.state = static_cast<uint8_t>(m[kOffState]);
  for (int i = 0; i < 3; ++i) h.mflags[i] = static_cast<uint8_t>(m[kOffMflags + i]);
  return h;
}

}  // namespace

void EncodeTo(const Message& msg, std::string* out) {
  const MessageHeader& h = msg.header;
  assert(BodyMatchesType(h.type, msg.body));
  const size_t totlen = kHeaderSize + BodySize(msg.body);
  uint16_t count = h.count;
  uint16_t extensions = h.extensions;
  uint8_t mflags0 = h.mflags[0];
  if (const auto* ping = std::get_if<PingBody>(&msg.body)) {
    assert(ping->gossip.size() <= 0xffff && ping->extensions.size() <= 0xffff);
    count = static_cast<uint16_t>(ping->gossip.size());
    if (!ping->extensions.empty()) {
      extensions = static_cast<uint16_t>(ping->extensions.size());
      mflags0 |= kMsgFlagExtData;
    }
  }
  const size_t start = out->size();
  out->resize(start + totlen, '\0');
  char* p = out->data() + start;
  EncodeHeader(h, static_cast<uint32_t>(totlen), count, extensions, mflags0, p);
  EncodeBody(msg.body, p + kHeaderSize);
}

std::string Encode(const Message& msg) {
  std::string out;
  EncodeTo(msg, &out);
  return out;
}

DecodeStatus Decode(std::string_view buf, size_t* consumed, Message* out, std::string* why,
                    size_t max_message_bytes) {
  std::string scratch;
  if (why == nullptr) why = &scratch;
  why->clear();
  *consumed = 0;
  if (buf.size() < 8) return DecodeStatus::kNeedMore;
  const uint32_t totlen = Read32(buf, kOffTotlen);
  if (std::memcmp(buf.data(), "RCmb", 4) != 0 || totlen < kHeaderSize) {
    *why = kBadFrameText;
    return DecodeStatus::kBadFrame;
  }
  if (totlen > max_message_bytes) {
    *why = absl::StrCat("Cluster bus message of ", totlen, " bytes exceeds the limit of ",
                        max_message_bytes, " bytes");
    return DecodeStatus::kBadFrame;
  }
  if (buf.size() < totlen) return DecodeStatus::kNeedMore;

  const std::string_view m = buf.substr(0, totlen);
  *consumed = totlen;
  MessageHeader header = DecodeHeader(m);
  if (header.version != kProtocolVersion) {
    // Redis drops these silently; the text is ours.
    *why = absl::StrCat("Received packet with unsupported protocol version ", header.version);
    return DecodeStatus::kDiscard;
  }
  MessageBody body;
  if (!DecodeBody(m, header, &body, why)) return DecodeStatus::kDiscard;
  out->header = std::move(header);
  out->body = std::move(body);
  return DecodeStatus::kMessage;
}

}  // namespace shardnode::clusterbus
