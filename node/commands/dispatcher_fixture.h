// Test fixture shared by the command tests: a Server with the default
// configuration and the full command table, and a Dispatcher over it.
// Not part of the library (only *_test.cc files include it).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/config/config.h"
#include "node/server/server.h"

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
  // "db arg arg ...".
  void RecordPropagation() {
    server_->after_write = [this](int db, std::span<const std::string> args) {
      std::string line = absl::StrCat(db);
      for (const auto& a : args) absl::StrAppend(&line, " ", a);
      propagated_.push_back(line);
    };
  }

  std::unique_ptr<Config> config_;
  std::unique_ptr<CommandTable> table_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::string> propagated_;
};

}  // namespace shardnode::node
