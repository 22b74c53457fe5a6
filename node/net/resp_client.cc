#include "node/net/resp_client.h"

#include "node/net/tls.h"

// GCC 12 flags the coroutine frame's sized operator delete in Asio's
// awaitable<T> for non-void T as mismatched (a false positive: the frame is
// allocated by the matching awaitable_frame_base::operator new).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/resp_command.h"

namespace shardnode::node {
namespace asio = boost::asio;
using asio::ip::tcp;

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const auto addr = endpoint.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return absl::StrCat(addr.to_v6().to_v4().to_string(), ":", endpoint.port());
  }
  return absl::StrCat(addr.to_string(), ":", endpoint.port());
}

std::shared_ptr<RespClient> RespClient::Create(asio::any_io_executor executor,
                                               RespClientOptions options) {
  return std::shared_ptr<RespClient>(new RespClient(std::move(executor), std::move(options)));
}

RespClient::RespClient(asio::any_io_executor executor, RespClientOptions options)
    : options_(std::move(options)),
      stream_(executor),
      resolver_(executor),
      timer_(executor),
      drained_(executor),
      reader_(options_.limits) {}

RespClient::~RespClient() {
  boost::system::error_code ignored;
  stream_.socket().close(ignored);
}

absl::Status RespClient::Fail(absl::Status status) {
  if (failure_.ok()) failure_ = std::move(status);
  ++deadline_gen_;
  timer_.cancel();
  drained_.cancel();
  resolver_.cancel();
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  return failure_;
}

void RespClient::Close() { (void)Fail(absl::CancelledError("Connection closed")); }

absl::Status RespClient::IoError(const boost::system::error_code& ec) const {
  if (ec == asio::error::eof) return absl::UnavailableError("Connection closed by the server");
  return absl::UnavailableError(ec.message());
}

asio::awaitable<absl::Status> RespClient::Connect(std::string host, int port) {
  host_ = host;
  const uint64_t gen = ++deadline_gen_;
  timer_.expires_after(options_.connect_timeout);
  timer_.async_wait([weak = weak_from_this(), gen](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->deadline_gen_ != gen) return;
    // Closing the socket also stops async_connect from trying the next
    // resolved address.
    self->timed_out_ = true;
    self->resolver_.cancel();
    boost::system::error_code ignored;
    self->stream_.socket().close(ignored);
  });
  boost::system::error_code ec;
  auto endpoints = co_await resolver_.async_resolve(host, std::to_string(port),
                                                    asio::redirect_error(asio::use_awaitable, ec));
  const std::string where = absl::StrCat(host, ":", port);
  if (!failure_.ok()) co_return failure_;
  if (timed_out_) co_return Fail(absl::DeadlineExceededError("Timeout connecting to " + where));
  if (ec)
    co_return Fail(
        absl::UnavailableError(absl::StrCat("Unable to resolve ", host, ": ", ec.message())));
  if (options_.source_addr.empty()) {
    co_await asio::async_connect(stream_.socket(), endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
  } else {
    ec = asio::error::host_not_found;
    for (const auto& entry : endpoints) {
      if (timed_out_ || !failure_.ok()) break;
      tcp::socket& sock = stream_.socket();
      boost::system::error_code ignored;
      sock.close(ignored);
      sock.open(entry.endpoint().protocol(), ec);
      if (ec) continue;
      boost::system::error_code bind_ec;
      const auto source = asio::ip::make_address(options_.source_addr, bind_ec);
      if (!bind_ec && source.is_v4() == entry.endpoint().address().is_v4()) {
        sock.bind(tcp::endpoint(source, 0), bind_ec);  // best effort
      }
      co_await sock.async_connect(entry.endpoint(), asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) break;
    }
  }
  // TLS (tls-replication, tls-cluster's MIGRATE): the handshake runs under
  // the same connect timeout.
  if (!ec && !timed_out_ && failure_.ok() && options_.tls) {
    stream_.UseTls(options_.tls);
    ec = co_await stream_.Handshake(asio::ssl::stream_base::client);
  }
  ++deadline_gen_;
  timer_.cancel();
  if (!failure_.ok()) co_return failure_;
  if (timed_out_) co_return Fail(absl::DeadlineExceededError("Timeout connecting to " + where));
  if (ec) co_return Fail(absl::UnavailableError(TlsErrorText(ec)));
  stream_.socket().set_option(tcp::no_delay(true), ec);
  fd_ = stream_.socket().native_handle();
  const auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_addr_ = FormatEndpoint(remote);
  const auto local = stream_.socket().local_endpoint(ec);
  if (!ec) local_addr_ = FormatEndpoint(local);
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> RespClient::Auth(std::string user, std::string password) {
  std::vector<std::string> args = {"AUTH"};
  if (!user.empty()) args.push_back(std::move(user));
  args.push_back(std::move(password));
  absl::StatusOr<resp::ReplyValue> reply = co_await Command(std::move(args));
  if (!reply.ok()) co_return reply.status();
  if (reply->is_error()) co_return absl::PermissionDeniedError(reply->str);
  co_return absl::OkStatus();
}

absl::Status RespClient::CheckSend(size_t bytes) const {
  if (!failure_.ok()) return failure_;
  if (!stream_.socket().is_open()) return absl::FailedPreconditionError("Not connected");
  if (pending_output() + bytes > options_.max_output_bytes) {
    return absl::ResourceExhaustedError("Output buffer limit reached");
  }
  return absl::OkStatus();
}

void RespClient::Enqueue(std::string_view bytes) {
  if (bytes.empty()) return;
  out_bytes_ += bytes.size();
  if (!out_.empty() && out_.back().size() + bytes.size() <= kSmallBuffer) {
    out_.back().append(bytes);
  } else {
    out_.emplace_back(bytes);
  }
}

void RespClient::Enqueue(std::string&& bytes) {
  if (bytes.empty()) return;
  if (!out_.empty() && out_.back().size() + bytes.size() <= kSmallBuffer) {
    Enqueue(std::string_view(bytes));
    return;
  }
  // Queued as it is: a big buffer is not copied on the loop.
  out_bytes_ += bytes.size();
  out_.push_back(std::move(bytes));
}

absl::Status RespClient::SendRaw(std::string&& bytes) {
  absl::Status st = CheckSend(bytes.size());
  if (!st.ok()) return st;
  Enqueue(std::move(bytes));
  Flush();
  return absl::OkStatus();
}

absl::Status RespClient::SendRaw(std::string_view bytes) {
  absl::Status st = CheckSend(bytes.size());
  if (!st.ok()) return st;
  Enqueue(bytes);
  Flush();
  return absl::OkStatus();
}

absl::Status RespClient::SendChunks(std::vector<std::string>&& chunks) {
  size_t total = 0;
  for (const std::string& c : chunks) total += c.size();
  absl::Status st = CheckSend(total);
  if (!st.ok()) return st;
  for (std::string& c : chunks) Enqueue(std::move(c));
  chunks.clear();
  Flush();
  return absl::OkStatus();
}

absl::Status RespClient::Send(std::span<const std::string> args) {
  std::string bytes;
  base::AppendRespCommand(&bytes, args);
  return SendRaw(std::move(bytes));
}

absl::Status RespClient::Send(std::initializer_list<std::string_view> args) {
  std::string bytes;
  base::AppendRespCommand(&bytes, args);
  return SendRaw(std::move(bytes));
}

void RespClient::Flush() {
  if (writing_ || out_.empty() || !stream_.socket().is_open()) return;
  writing_ = true;
  // One write of up to kMaxWriteBuffers queued buffers (writev); each
  // stays alive in sending_ until the write completes.
  sending_.reserve(kMaxWriteBuffers);
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(kMaxWriteBuffers);
  while (!out_.empty() && sending_.size() < kMaxWriteBuffers) {
    sending_.push_back(std::move(out_.front()));
    out_.pop_front();
    sending_bytes_ += sending_.back().size();
    buffers.emplace_back(asio::buffer(sending_.back()));
  }
  out_bytes_ -= sending_bytes_;
  asio::async_write(stream_, buffers,
                    [self = shared_from_this()](boost::system::error_code ec, size_t) {
                      self->writing_ = false;
                      self->sending_.clear();
                      self->sending_bytes_ = 0;
                      if (ec) {
                        self->write_failed_ = true;
                        (void)self->Fail(self->IoError(ec));
                        return;
                      }
                      if (self->out_.empty()) {
                        self->drained_.cancel();
                      } else {
                        self->Flush();
                      }
                    });
}

asio::awaitable<absl::Status> RespClient::Drain() {
  const Deadline deadline = IoDeadline();
  while (failure_.ok() && pending_output() > 0) {
    if (deadline != Deadline::max() && std::chrono::steady_clock::now() >= deadline) {
      co_return Fail(absl::DeadlineExceededError("Timeout writing to " + peer_addr_));
    }
    // Cancelled by Flush's completion once the queue is empty.
    boost::system::error_code ec;
    drained_.expires_at(deadline);
    co_await drained_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return failure_;
}

RespClient::Deadline RespClient::IoDeadline() const {
  if (options_.io_timeout.count() <= 0) return Deadline::max();
  return std::chrono::steady_clock::now() + options_.io_timeout;
}

void RespClient::Consume(size_t n) {
  in_pos_ += n;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
}

asio::awaitable<absl::Status> RespClient::Fill(Deadline deadline) {
  if (!failure_.ok()) co_return failure_;
  if (!stream_.socket().is_open()) co_return absl::FailedPreconditionError("Not connected");
  // Drop consumed bytes before growing the buffer.
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  const uint64_t gen = ++deadline_gen_;
  if (deadline != Deadline::max()) {
    timer_.expires_at(deadline);
    timer_.async_wait([weak = weak_from_this(), gen](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->deadline_gen_ != gen) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }
  boost::system::error_code ec;
  const size_t n = co_await stream_.async_read_some(asio::buffer(buf_, sizeof(buf_)),
                                                    asio::redirect_error(asio::use_awaitable, ec));
  ++deadline_gen_;
  if (deadline != Deadline::max()) timer_.cancel();
  if (!failure_.ok()) co_return failure_;
  if (timed_out_) co_return Fail(absl::DeadlineExceededError("Timeout reading from " + peer_addr_));
  if (ec) co_return Fail(IoError(ec));
  in_.append(buf_, n);
  if (options_.on_read) options_.on_read(n);
  co_return absl::OkStatus();
}

asio::awaitable<absl::StatusOr<resp::ReplyValue>> RespClient::ReadReply() {
  const Deadline deadline = IoDeadline();
  for (;;) {
    if (!failure_.ok()) co_return failure_;
    if (buffered() > 0) {
      size_t consumed = 0;
      resp::ReplyValue reply;
      const resp::ReplyStatus st = reader_.Read(unread(), &consumed, &reply);
      Consume(consumed);
      if (st == resp::ReplyStatus::kError) co_return Fail(absl::DataLossError(reader_.error()));
      if (st == resp::ReplyStatus::kReply) {
        if (reply.type == resp::ReplyValue::Type::kPush && on_push) {
          on_push(std::move(reply));
          continue;
        }
        co_return reply;
      }
    }
    absl::Status s = co_await Fill(deadline);
    if (!s.ok()) co_return s;
  }
}

asio::awaitable<absl::StatusOr<resp::ReplyValue>> RespClient::Command(
    std::vector<std::string> args) {
  absl::Status s = Send(args);
  if (!s.ok()) co_return s;
  co_return co_await ReadReply();
}

asio::awaitable<absl::StatusOr<std::vector<resp::ReplyValue>>> RespClient::Pipeline(
    std::vector<std::vector<std::string>> commands) {
  for (const std::vector<std::string>& c : commands) {
    absl::Status s = Send(c);
    if (s.code() == absl::StatusCode::kResourceExhausted) {
      s = co_await Drain();
      if (s.ok()) s = Send(c);
    }
    if (!s.ok()) co_return s;
  }
  std::vector<resp::ReplyValue> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<resp::ReplyValue> r = co_await ReadReply();
    if (!r.ok()) co_return r.status();
    replies.push_back(std::move(*r));
  }
  co_return replies;
}

asio::awaitable<absl::StatusOr<std::string>> RespClient::ReadLine() {
  const Deadline deadline = IoDeadline();
  for (;;) {
    if (!failure_.ok()) co_return failure_;
    const std::string_view data = unread();
    const size_t lf = data.find('\n');
    if (lf != std::string_view::npos) {
      size_t end = lf;
      if (end > 0 && data[end - 1] == '\r') --end;
      std::string line(data.substr(0, end));
      Consume(lf + 1);
      co_return line;
    }
    if (data.size() > options_.limits.max_line_len) {
      co_return Fail(absl::DataLossError("Protocol error: too big line"));
    }
    absl::Status s = co_await Fill(deadline);
    if (!s.ok()) co_return s;
  }
}

asio::awaitable<absl::Status> RespClient::ReadRaw(std::string* out) {
  if (!failure_.ok()) co_return failure_;
  if (buffered() == 0) {
    absl::Status s = co_await Fill(IoDeadline());
    if (!s.ok()) co_return s;
  }
  out->append(unread());
  Consume(buffered());
  co_return absl::OkStatus();
}

}  // namespace shardnode::node
