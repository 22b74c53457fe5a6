// Test fixture shared by the command tests: a Server with the default
// configuration and the full command table, and a Dispatcher over it.
// Not part of the library (only *_test.cc files include it).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/config/config.h"
#include "node/server/server.h"
#include "node/server/write_stream.h"

namespace shardnode::node {

class DispatcherFixture : public ::testing::Test {
 protected:
  // The configuration the server starts with; a test may override it
  // ("threads 4" for a keyspace split into four shards).
  virtual std::string ConfigText() const { return ""; }

  void SetUp() override {
    auto config = Config::FromText(ConfigText());
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = std::move(*config);
    table_ = BuildCommandTable();
    server_ = std::make_unique<Server>(config_.get(), table_.get());
    dispatcher_ = std::make_unique<Dispatcher>(*server_);
  }

  // From now on every write the server propagates lands in propagated_ as
  // "db arg arg ...", and its slot in propagated_slots_.
  void RecordPropagation() { server_->write_stream().Subscribe(&recorder_); }

  void TearDown() override {
    if (server_ != nullptr) server_->write_stream().Unsubscribe(&recorder_);
  }

  // A write stream consumer that always wants writes.
  struct Recorder : WriteConsumer {
    explicit Recorder(DispatcherFixture* f) : fixture(f) {}
    bool WantsWrites() const override { return true; }
    void OnWrite(const StreamWrite& w) override {
      std::string line = absl::StrCat(w.db);
      for (const auto& a : w.args) absl::StrAppend(&line, " ", a);
      fixture->propagated_.push_back(line);
      fixture->propagated_slots_.push_back(w.slot);
    }
    DispatcherFixture* fixture;
  };

  std::unique_ptr<Config> config_;
  std::unique_ptr<CommandTable> table_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::string> propagated_;
  std::vector<int> propagated_slots_;
  Recorder recorder_{this};
};

}  // namespace shardnode::node
