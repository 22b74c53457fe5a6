// A hook run before every Asio handler of the thread that installed one:
// Asio's custom handler tracking (BOOST_ASIO_CUSTOM_HANDLER_TRACKING names
// this header for every target, CMakeLists.txt) calls
// BOOST_ASIO_HANDLER_INVOCATION_BEGIN right before it invokes a completion
// handler, a posted function or a coroutine's resumption; everything else
// Asio's tracking could report is left out (no cost, no member added to
// its operations).
//
// The control loop installs one at `threads N` > 1 (node/net/shard_threads.h,
// the global step): a shard thread may run commands only while no control
// loop handler runs. Threads without a hook pay one thread-local load per
// handler.
#pragma once

namespace shardnode::asio_hook {

class HandlerHook {
 public:
  virtual void BeforeHandler() = 0;

 protected:
  ~HandlerHook() = default;
};

// The running thread's hook, or null.
inline thread_local HandlerHook* current = nullptr;

inline void BeforeHandler() {
  if (HandlerHook* hook = current) hook->BeforeHandler();
}

// Installs `hook` for the running thread for the scope's life.
class Scope {
 public:
  explicit Scope(HandlerHook* hook) : previous_(current) { current = hook; }
  ~Scope() { current = previous_; }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  HandlerHook* previous_;
};

}  // namespace shardnode::asio_hook

#define BOOST_ASIO_INHERIT_TRACKED_HANDLER
#define BOOST_ASIO_ALSO_INHERIT_TRACKED_HANDLER
#define BOOST_ASIO_HANDLER_TRACKING_INIT (void)0
#define BOOST_ASIO_HANDLER_LOCATION(loc) (void)0
#define BOOST_ASIO_HANDLER_CREATION(args) (void)0
#define BOOST_ASIO_HANDLER_COMPLETION(args) (void)0
#define BOOST_ASIO_HANDLER_INVOCATION_BEGIN(args) ::shardnode::asio_hook::BeforeHandler()
#define BOOST_ASIO_HANDLER_INVOCATION_END (void)0
#define BOOST_ASIO_HANDLER_OPERATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_REGISTRATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_DEREGISTRATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_READ_EVENT 0
#define BOOST_ASIO_HANDLER_REACTOR_WRITE_EVENT 0
#define BOOST_ASIO_HANDLER_REACTOR_ERROR_EVENT 0
#define BOOST_ASIO_HANDLER_REACTOR_EVENTS(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_OPERATION(args) (void)0
