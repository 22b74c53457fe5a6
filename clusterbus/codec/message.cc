#include "clusterbus/codec/message.h"

namespace shardnode::clusterbus {

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPing:
      return "ping";
    case MessageType::kPong:
      return "pong";
    case MessageType::kMeet:
      return "meet";
    case MessageType::kFail:
      return "fail";
    case MessageType::kPublish:
      return "publish";
    case MessageType::kPublishShard:
      return "publishshard";
    case MessageType::kFailoverAuthRequest:
      return "auth-req";
    case MessageType::kFailoverAuthAck:
      return "auth-ack";
    case MessageType::kUpdate:
      return "update";
    case MessageType::kMfStart:
      return "mfstart";
    case MessageType::kModule:
      return "module";
  }
  return "unknown";
}

PingExtension MakeHostnameExtension(std::string_view hostname) {
  PingExtension e;
  e.type = kPingExtHostname;
  e.data.assign(hostname);
  e.data.resize((hostname.size() + 1 + 7) / 8 * 8, '\0');
  return e;
}

std::optional<std::string> PingBody::Hostname() const {
  for (const PingExtension& e : extensions) {
    if (e.type == kPingExtHostname) return e.data.substr(0, e.data.find('\0'));
  }
  return std::nullopt;
}

bool BodyMatchesType(MessageType type, const MessageBody& body) {
  switch (type) {
    case MessageType::kPing:
    case MessageType::kPong:
    case MessageType::kMeet:
      return std::holds_alternative<PingBody>(body);
    case MessageType::kFail:
      return std::holds_alternative<FailBody>(body);
    case MessageType::kPublish:
    case MessageType::kPublishShard:
      return std::holds_alternative<PublishBody>(body);
    case MessageType::kFailoverAuthRequest:
    case MessageType::kFailoverAuthAck:
    case MessageType::kMfStart:
      return std::holds_alternative<EmptyBody>(body);
    case MessageType::kUpdate:
      return std::holds_alternative<UpdateBody>(body);
    case MessageType::kModule:
      return std::holds_alternative<ModuleBody>(body);
  }
  return std::holds_alternative<UnknownBody>(body);
}

}  // namespace shardnode::clusterbus
