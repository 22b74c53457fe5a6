// RespClient: the node's one outbound RESP connection to another server
// (Redis or shardnode). The replica's link to its primary uses it; MIGRATE,
// Sentinel and atomic slot migration are meant to. It only moves bytes:
// replies are decoded by resp::ReplyReader (node/resp/reply_reader.h), and
// what a reply means is the caller's business.
//
// Use, from a coroutine on the client's executor:
//
//   auto c = RespClient::Create(io.get_executor(), {.connect_timeout = 1s});
//   absl::Status s = co_await c->Connect("10.0.0.2", 6379);
//   s = co_await c->Auth(user, password);              // AUTH [user] pass
//   c->Send({"SELECT", "3"});                          // pipelined:
//   c->Send({"RESTORE-ASKING", key, "0", payload});    //   sent at once,
//   auto select = co_await c->ReadReply();             //   replies read in
//   auto restore = co_await c->ReadReply();            //   request order
//
// or Pipeline() for a batch, or Command() for one request. A reply that is
// an error (-ERR ...) is a reply (ReplyValue::is_error), not a failed
// Status: in a pipeline each request has its own outcome.
//
// Raw mode: a connection whose server switches to a byte stream (the RDB
// payload after +FULLRESYNC, then the replication stream) is read with
// ReadLine() and ReadRaw() once the last reply is read; the bytes already
// received after that reply are returned first. Replies and raw reads may
// alternate as long as no reply is half read.
//
// Failures (absl::Status codes): kDeadlineExceeded: connect_timeout or
// io_timeout passed; kUnavailable: resolve or connect failed (the text
// is the system's, e.g. "Connection refused"), or the connection was
// closed or reset by the server; kDataLoss: the server broke the protocol
// (the reader's message); kCancelled: Close() was called; kResourceExhausted:
// Send() beyond max_output_bytes; kFailedPrecondition: not connected;
// kPermissionDenied: Auth() got an error reply (its text). After any failure
// but kResourceExhausted the connection is closed: make a new client to
// reconnect.
//
// Buffers are bounded: output waiting for the socket by max_output_bytes,
// a reply by the reader's limits, a raw line by limits.max_line_len; raw
// bytes are handed to the caller as they arrive.
//
// Ownership: made by Create() as a shared_ptr; its own pending writes keep
// it alive. The caller keeps it alive while it awaits one of its calls.
// Loop: the executor given to Create(); one reader at a time (one awaited
// read call in flight); Send() may be called any time, also while a read is
// awaited (the replica link's ACKs). Not thread-safe.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/net/stream.h"
#include "node/resp/reply_reader.h"

namespace shardnode::node {

// "ip:port" of an endpoint (an IPv4-mapped IPv6 address as IPv4), as CLIENT
// LIST and the logs show addresses.
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

struct RespClientOptions {
  // Bounds resolving and connecting.
  std::chrono::milliseconds connect_timeout{5000};
  // Bounds each awaited call that reads or waits for the socket
  // (ReadReply, Command, Pipeline, ReadLine, ReadRaw, Drain) from its
  // start; 0: unbounded (a caller with its own clock, such as the replica
  // link's repl-timeout).
  std::chrono::milliseconds io_timeout{0};
  // Output queued and not yet written to the socket.
  size_t max_output_bytes = 64 * 1024 * 1024;
  resp::ReplyReaderLimits limits;
  // Called with the byte count of each read from the socket (last-I/O
  // clocks, transfer progress). May be empty.
  std::function<void(size_t bytes)> on_read;
  // Set: the connection runs over TLS with this context (handshake as a
  // client inside Connect, within connect_timeout; a failed handshake is
  // kUnavailable with OpenSSL's error text).
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Set: the socket is bound to this local address before it connects
  // (bind-source-addr), best effort as Redis's: when the bind fails the
  // connection is made from any address.
  std::string source_addr;
};

class RespClient : public std::enable_shared_from_this<RespClient> {
 public:
  static std::shared_ptr<RespClient> Create(boost::asio::any_io_executor executor,
                                            RespClientOptions options = {});
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Resolves `host` and connects (TCP_NODELAY) within connect_timeout.
  // REQUIRES: called once, first.
  boost::asio::awaitable<absl::Status> Connect(std::string host, int port);

  // AUTH <password>, or AUTH <user> <password> when `user` is not empty
  // (Redis 6 ACL form). An error reply is kPermissionDenied with its text.
  boost::asio::awaitable<absl::Status> Auth(std::string user, std::string password);

  // Queues one command (an array of bulk strings) / raw bytes for the
  // server; the write starts at once. Fails with kFailedPrecondition when
  // not connected, kResourceExhausted (nothing queued) when the queue would
  // pass max_output_bytes.
  absl::Status Send(std::span<const std::string> args);
  absl::Status Send(std::initializer_list<std::string_view> args);
  absl::Status SendRaw(std::string_view bytes);
  // The same, taking the buffer: a big one is queued as it is, not copied.
  absl::Status SendRaw(std::string&& bytes);
  // Queues `chunks`, in order, taking them: they go to the socket with
  // scatter/gather writes, never copied into one buffer (a DUMP payload of
  // 100 MB made in slices). Each chunk is freed once written.
  absl::Status SendChunks(std::vector<std::string>&& chunks);

  // The next reply, in request order. RESP3 push messages are given to
  // `on_push` when set, else returned like replies.
  boost::asio::awaitable<absl::StatusOr<resp::ReplyValue>> ReadReply();
  // Send + ReadReply.
  boost::asio::awaitable<absl::StatusOr<resp::ReplyValue>> Command(std::vector<std::string> args);
  // Sends every command, then reads one reply each, in order. When the
  // output bound is reached it waits for the queue to drain and goes on
  // (one command larger than the bound is kResourceExhausted).
  boost::asio::awaitable<absl::StatusOr<std::vector<resp::ReplyValue>>> Pipeline(
      std::vector<std::vector<std::string>> commands);

  // Raw mode. REQUIRES: no reply half read (see ReplyReader::in_reply).
  // One line without its CRLF (or bare LF); longer than limits.max_line_len
  // is kDataLoss.
  boost::asio::awaitable<absl::StatusOr<std::string>> ReadLine();
  // Appends to *out the bytes received and not yet returned, or, when there
  // are none, what the next read from the socket brings (at least one byte).
  boost::asio::awaitable<absl::Status> ReadRaw(std::string* out);
  // Received bytes not yet returned (without reading).
  size_t buffered() const { return in_.size() - in_pos_; }

  // Waits until everything queued has been written (bounded by
  // io_timeout).
  boost::asio::awaitable<absl::Status> Drain();

  // Closes the connection; awaited calls complete with kCancelled. Safe to
  // call more than once.
  void Close();

  // Changes io_timeout for the calls started from now on (a cached
  // connection reused by a MIGRATE with another timeout).
  void set_io_timeout(std::chrono::milliseconds t) { options_.io_timeout = t; }

  bool is_open() const { return stream_.socket().is_open() && failure_.ok(); }
  // "ip:port" of the server and of our end (empty before Connect).
  const std::string& peer_addr() const { return peer_addr_; }
  const std::string& local_addr() const { return local_addr_; }
  int fd() const { return fd_; }
  size_t pending_output() const { return out_bytes_ + sending_bytes_; }
  // A write to the socket failed (the failure that closed the connection,
  // or one after it): a caller that reads without Drain() tells a failed
  // write from a failed read with this and pending_output().
  bool write_failed() const { return write_failed_; }

  std::function<void(resp::ReplyValue push)> on_push;

 private:
  RespClient(boost::asio::any_io_executor executor, RespClientOptions options);

  using Deadline = std::chrono::steady_clock::time_point;
  // The deadline of an I/O call starting now (max: unbounded).
  Deadline IoDeadline() const;
  // Reads once from the socket into in_, failing at `deadline`.
  boost::asio::awaitable<absl::Status> Fill(Deadline deadline);
  std::string_view unread() const { return std::string_view(in_).substr(in_pos_); }
  void Consume(size_t n);
  // Starts a write of the queued buffers when none is in flight.
  void Flush();
  // Queues bytes: appended to the last buffer when both are small, else a
  // buffer of their own.
  void Enqueue(std::string_view bytes);
  void Enqueue(std::string&& bytes);
  // The queue check shared by the Send calls.
  absl::Status CheckSend(size_t bytes) const;
  // Records the first failure and closes the socket.
  absl::Status Fail(absl::Status status);
  // The status for an error code of a read or write.
  absl::Status IoError(const boost::system::error_code& ec) const;

  RespClientOptions options_;
  Stream stream_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;    // connect / read deadline
  boost::asio::steady_timer drained_;  // cancelled when the output drains
  resp::ReplyReader reader_;
  std::string in_;  // received; bytes before in_pos_ are consumed
  size_t in_pos_ = 0;
  // Output: buffers queued and not yet handed to a write, and those of the
  // write in flight (at most kMaxWriteBuffers, each kept until written).
  static constexpr size_t kSmallBuffer = 64 * 1024;
  static constexpr size_t kMaxWriteBuffers = 64;
  std::deque<std::string> out_;
  size_t out_bytes_ = 0;
  std::vector<std::string> sending_;
  size_t sending_bytes_ = 0;
  bool writing_ = false;
  bool write_failed_ = false;
  bool timed_out_ = false;
  uint64_t deadline_gen_ = 0;  // ties a timer expiry to the wait it bounds
  absl::Status failure_;       // the first failure; later calls return it
  std::string host_;
  std::string peer_addr_;
  std::string local_addr_;
  int fd_ = -1;
  char buf_[16 * 1024];
};

}  // namespace shardnode::node
