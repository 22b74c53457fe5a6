// The cluster bus codec: Message <-> bytes, sans I/O. Encode produces exactly
// the bytes redis-server 7.0.15 sends for the same content; Decode frames a
// byte stream and applies 7.0.15's acceptance rules (clusterReadHandler's
// framing check, then clusterProcessPacket's version and per-type length
// checks). Byte layouts: clusterbus/FORMAT.md.
//
// Pure functions, no state: safe from any thread. The caller owns the
// receive buffer: it appends the bytes it reads, calls Decode until it
// returns kNeedMore, and erases the consumed prefix.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "clusterbus/codec/message.h"

namespace shardnode::clusterbus {

// Serializes `msg` (totlen computed; count and extensions taken from the body
// for PING/PONG/MEET, see MessageHeader).
// REQUIRES: BodyMatchesType(msg.header.type, msg.body); at most 65535 gossip
// entries and extensions; each extension's data < 4 GiB - 8.
std::string Encode(const Message& msg);
// Same, appending to *out.
void EncodeTo(const Message& msg, std::string* out);

enum class DecodeStatus {
  kNeedMore,  // The buffer holds less than one message; read more bytes.
  kMessage,   // *out holds the first message; drop *consumed bytes.
  kBadFrame,  // Bad signature, totlen < 2256 or over the limit: close the link.
  kDiscard,   // Framed but invalid (version, length): drop *consumed bytes, keep the link.
};

// 7.0.15 sets no upper bound on totlen. We buffer at most this much for one
// message; a peer declaring more gets kBadFrame (its link is closed). 64 MiB
// is far above anything the bus carries except a huge PUBLISH payload.
inline constexpr size_t kDefaultMaxMessageBytes = size_t{64} << 20;

// Looks at the start of `buf` (which may hold several messages, or a part of
// one). Only the first 8 bytes are needed to reject a bad frame; nothing is
// allocated before a whole message is buffered.
//
// On kMessage: *out is the decoded message (unknown types >= 11 come back as
// kMessage with an UnknownBody, and *why says "Received unknown packet type:
// N"), *consumed = its totlen.
// On kDiscard: *consumed = totlen, *why is the reason (Redis's log text for
// length errors), *out is unspecified.
// On kNeedMore: *consumed = 0. On kBadFrame: *consumed = 0, *why says why.
// `why` may be null. Never reads outside `buf`.
DecodeStatus Decode(std::string_view buf, size_t* consumed, Message* out, std::string* why,
                    size_t max_message_bytes = kDefaultMaxMessageBytes);

}  // namespace shardnode::clusterbus
