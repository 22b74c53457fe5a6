#include "node/acl/acl.h"

#include <gtest/gtest.h>

namespace shardnode::node::acl {
namespace {

uint32_t Cats(std::initializer_list<const char*> names) {
  uint32_t bits = 0;
  for (const char* n : names) bits |= CategoryByName(n);
  return bits;
}

// A small catalog: get, set, del, config (get, set), select, auth,
// subscribe, psubscribe, publish.
Acl MakeAcl() {
  Acl acl;
  std::vector<CommandEntry> c;
  c.push_back({"get", Cats({"read", "string", "fast"})});
  c.push_back({"set", Cats({"write", "string", "slow"})});
  c.push_back({"del", Cats({"keyspace", "write", "slow"})});
  c.push_back({"config", Cats({"slow"}), false, -1, {5, 6}});
  c.push_back({"select", Cats({"keyspace", "fast"})});
  c.push_back({"config|get", Cats({"admin", "slow", "dangerous"}), false, 3});
  c.push_back({"config|set", Cats({"admin", "slow", "dangerous"}), false, 3});
  c.push_back({"auth", Cats({"fast", "connection"}), true});
  c.push_back({"subscribe", Cats({"pubsub", "slow"})});
  c.push_back({"psubscribe", Cats({"pubsub", "slow"})});
  c.push_back({"publish", Cats({"pubsub", "fast"})});
  c.push_back({"strlen", Cats({"read", "string", "fast"})});
  acl.SetCommands(std::move(c));
  return acl;
}

std::vector<std::string> V(std::initializer_list<const char*> a) { return {a.begin(), a.end()}; }

std::function<std::vector<KeyRef>()> Keys(std::vector<KeyRef> k) {
  return [k] { return k; };
}

TEST(AclTest, HashPasswordIsSha256Hex) {
  EXPECT_EQ(HashPassword("hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(HashPassword(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HashPassword(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(AclTest, DefaultUserIsUnrestricted) {
  Acl acl = MakeAcl();
  EXPECT_TRUE(acl.default_user().Unrestricted());
  EXPECT_EQ(acl.Describe(acl.default_user()), "on nopass ~* &* +@all");
  EXPECT_TRUE(acl.CheckCredentials("default", "anything"));
}

TEST(AclTest, NewUserIsOffWithNothing) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", {}).has_value());
  EXPECT_EQ(acl.Describe(*acl.Find("u")), "off resetchannels -@all");
  EXPECT_FALSE(acl.CheckCredentials("u", "x"));
}

TEST(AclTest, PasswordsAddRemoveAndErrors) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"on", ">p1", ">p2", "<p1"})).has_value());
  EXPECT_FALSE(acl.CheckCredentials("u", "p1"));
  EXPECT_TRUE(acl.CheckCredentials("u", "p2"));
  EXPECT_EQ(*acl.SetUser("u", V({"<nope"})),
            "Error in ACL SETUSER modifier '<nope': The password you are trying to remove from "
            "the user does not exist");
  EXPECT_EQ(*acl.SetUser("u", V({"#abc"})),
            "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 "
            "characters and contain only lowercase hexadecimal characters");
  // All or nothing: the valid rule before the bad one is not applied.
  EXPECT_TRUE(acl.SetUser("u", V({"off", "+nosuch"})).has_value());
  EXPECT_TRUE(acl.Find("u")->enabled);
  acl.SetDefaultPassword("secret");
  EXPECT_FALSE(acl.CheckCredentials("default", "x"));
  EXPECT_TRUE(acl.CheckCredentials("default", "secret"));
}

TEST(AclTest, CommandRulesAndDescribe) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"on", "+@all", "-set"})).has_value());
  EXPECT_EQ(acl.Describe(*acl.Find("u")), "on resetchannels +@all -set");
  ASSERT_FALSE(acl.SetUser("w", V({"+get", "+config|get", "+select|0"})).has_value());
  const User& w = *acl.Find("w");
  EXPECT_EQ(acl.DescribeCommands(w.selectors[0]), "-@all +get +config|get +select|0");
  auto args = V({"config", "get", "x"});
  EXPECT_EQ(acl.Check(w, 5, args, Keys({})).verdict, Verdict::kOk);
  auto set_args = V({"config", "set", "x", "y"});
  EXPECT_EQ(acl.Check(w, 6, set_args, Keys({})).verdict, Verdict::kDeniedCmd);
  auto sel0 = V({"select", "0"});
  auto sel1 = V({"select", "1"});
  EXPECT_EQ(acl.Check(w, 4, sel0, Keys({})).verdict, Verdict::kOk);
  EXPECT_EQ(acl.Check(w, 4, sel1, Keys({})).verdict, Verdict::kDeniedCmd);
  // AUTH is never denied.
  auto auth = V({"auth", "x"});
  EXPECT_EQ(acl.Check(w, 7, auth, Keys({})).verdict, Verdict::kOk);
  EXPECT_EQ(*acl.SetUser("w", V({"+config|get|x"})),
            "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is "
            "not supported");
  EXPECT_EQ(*acl.SetUser("w", V({"+@nosuch"})),
            "Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL");
}

TEST(AclTest, CategoriesPickTheBestFit) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"+@pubsub"})).has_value());
  EXPECT_EQ(acl.DescribeCommands(acl.Find("u")->selectors[0]), "-@all +@pubsub");
  ASSERT_FALSE(acl.SetUser("v", V({"+@all", "-@dangerous"})).has_value());
  // admin and dangerous hold the same commands here: the first one wins.
  EXPECT_EQ(acl.DescribeCommands(acl.Find("v")->selectors[0]), "+@all -@admin");
}

TEST(AclTest, KeyPatternsWithReadWritePermissions) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"on", "+@all", "~k*", "%R~r*", "%W~w*"})).has_value());
  const User& u = *acl.Find("u");
  EXPECT_EQ(acl.Describe(u), "on ~k* %R~r* %W~w* resetchannels +@all");
  auto get_r = V({"get", "r1"});
  EXPECT_EQ(acl.Check(u, 0, get_r, Keys({{1, kRead}})).verdict, Verdict::kOk);
  auto set_r = V({"set", "r1", "v"});
  CheckResult r = acl.Check(u, 1, set_r, Keys({{1, kWrite}}));
  EXPECT_EQ(r.verdict, Verdict::kDeniedKey);
  EXPECT_EQ(r.pos, 1);
  auto set_w = V({"set", "w1", "v"});
  EXPECT_EQ(acl.Check(u, 1, set_w, Keys({{1, kWrite}})).verdict, Verdict::kOk);
  EXPECT_EQ(*acl.SetUser("u", V({"allkeys", "~x"})),
            "Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern (or the "
            "'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start "
            "with an empty list of patterns");
  EXPECT_EQ(*acl.SetUser("u", V({"%X~x"})), "Error in ACL SETUSER modifier '%X~x': Syntax error");
}

TEST(AclTest, ChannelsPatternsAreLiteralForPsubscribe) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"on", "+@all", "&news.*"})).has_value());
  const User& u = *acl.Find("u");
  auto pub = V({"publish", "news.x", "m"});
  EXPECT_EQ(acl.Check(u, 10, pub, Keys({})).verdict, Verdict::kOk);
  auto sub = V({"subscribe", "news.a", "other"});
  CheckResult r = acl.Check(u, 8, sub, Keys({}));
  EXPECT_EQ(r.verdict, Verdict::kDeniedChannel);
  EXPECT_EQ(r.pos, 2);
  auto psub_lit = V({"psubscribe", "news.*"});
  EXPECT_EQ(acl.Check(u, 9, psub_lit, Keys({})).verdict, Verdict::kOk);
  auto psub = V({"psubscribe", "news.a*"});
  EXPECT_EQ(acl.Check(u, 9, psub, Keys({})).verdict, Verdict::kDeniedChannel);
}

TEST(AclTest, SelectorsAnyMayAllowAndWorstVerdictReported) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"on", "+get", "~a*", "(", "+set", "~b*", ")"})).has_value());
  const User& u = *acl.Find("u");
  EXPECT_EQ(acl.Describe(u), "on ~a* resetchannels -@all +get (~b* resetchannels -@all +set)");
  auto set_b = V({"set", "b1", "v"});
  EXPECT_EQ(acl.Check(u, 1, set_b, Keys({{1, kWrite}})).verdict, Verdict::kOk);
  auto set_a = V({"set", "a1", "v"});
  EXPECT_EQ(acl.Check(u, 1, set_a, Keys({{1, kWrite}})).verdict, Verdict::kDeniedKey);
  auto del = V({"del", "a"});
  EXPECT_EQ(acl.Check(u, 2, del, Keys({{1, kWrite}})).verdict, Verdict::kDeniedCmd);
  EXPECT_EQ(*acl.SetUser("u", V({"(+get"})),
            "Unmatched parenthesis in acl selector starting at '(+get'.");
  ASSERT_FALSE(acl.SetUser("u", V({"clearselectors"})).has_value());
  EXPECT_EQ(acl.Find("u")->selectors.size(), 1u);
}

TEST(AclTest, AllKeysAccessNeedsAStarPatternWithThePermission) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"(+get ~k)", "(+get %W~*)", "(+set %R~*)"})).has_value());
  const User& u = *acl.Find("u");
  auto get = V({"get", "k"});
  // The selectors with a '*' pattern either cannot read or cannot run GET.
  EXPECT_FALSE(acl.CheckWithAllKeys(u, 0, get, kRead, Keys({{1, kRead}})));
  ASSERT_FALSE(acl.SetUser("u", V({"(+get %R~*)"})).has_value());
  EXPECT_TRUE(acl.CheckWithAllKeys(*acl.Find("u"), 0, get, kRead, Keys({{1, kRead}})));
}

TEST(AclTest, ResetKeepsNothing) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"on", "nopass", "+@all", "~*", "&*", "(+get)"})).has_value());
  ASSERT_FALSE(acl.SetUser("u", V({"reset"})).has_value());
  EXPECT_EQ(acl.Describe(*acl.Find("u")), "off sanitize-payload resetchannels -@all");
}

TEST(AclTest, LogGroupsSimilarEntries) {
  Acl acl;
  LogEntry e{1, Verdict::kDeniedCmd, LogContext::kToplevel, "get", "u", 1000, "id=1"};
  acl.AddLog(e, 128);
  e.ctime_ms = 2000;
  e.client_info = "id=2";
  acl.AddLog(e, 128);
  ASSERT_EQ(acl.log().size(), 1u);
  EXPECT_EQ(acl.log()[0].count, 2u);
  EXPECT_EQ(acl.log()[0].client_info, "id=2");
  e.ctime_ms = 70000;  // more than 60 s later: a new entry
  acl.AddLog(e, 128);
  EXPECT_EQ(acl.log().size(), 2u);
  acl.AddLog(LogEntry{1, Verdict::kDeniedKey, LogContext::kMulti, "k", "u", 70000, ""}, 2);
  EXPECT_EQ(acl.log().size(), 2u);
  EXPECT_EQ(acl.log()[0].object, "k");
}

TEST(AclTest, LoadFileAllOrNothing) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("old", V({"on"})).has_value());
  std::vector<std::unique_ptr<User>> gone;
  auto err = acl.LoadFile("user a on >x +get\nuser b +nosuch\nfoo\n", "users.acl", &gone);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err,
            "users.acl:2: Error in applying operation '+nosuch': Unknown command or category name "
            "in ACL. users.acl:3 should start with user keyword followed by the username. "
            "WARNING: ACL errors detected, no change to the previously active ACL rules was "
            "performed");
  EXPECT_NE(acl.Find("old"), nullptr);
  User* def = &acl.default_user();
  ASSERT_FALSE(acl.LoadFile("user a on >x +get\n\nuser default on nopass +@all\n", "f", &gone));
  EXPECT_EQ(&acl.default_user(), def);
  EXPECT_EQ(acl.Find("old"), nullptr);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]->name, "old");
  EXPECT_EQ(acl.SaveText(), "user a on #" + HashPassword("x") +
                                " resetchannels -@all +get\nuser default on nopass resetchannels "
                                "+@all\n");
}

TEST(AclTest, ConfigUserLinesValidatedThenLoaded) {
  Acl acl = MakeAcl();
  auto bad = acl.AppendConfigUser(V({"user", "u", "on", "%X~"}));
  ASSERT_TRUE(bad.has_value());
  // Redis names the argument of the whole line at the rule's index.
  EXPECT_EQ(*bad, "Error in user declaration 'u': Syntax error");
  ASSERT_FALSE(acl.AppendConfigUser(V({"user", "u", "on", ">p", "+get"})).has_value());
  EXPECT_TRUE(acl.AppendConfigUser(V({"user", "u", "on"})).has_value());
  ASSERT_FALSE(acl.LoadConfigUsers().has_value());
  EXPECT_TRUE(acl.CheckCredentials("u", "p"));
}

TEST(AclTest, ChannelRevocationDetected) {
  Acl acl = MakeAcl();
  ASSERT_FALSE(acl.SetUser("u", V({"&a", "&b"})).has_value());
  User before = *acl.Find("u");
  ASSERT_FALSE(acl.SetUser("u", V({"resetchannels", "&a"})).has_value());
  EXPECT_TRUE(Acl::ChannelsRevoked(before, *acl.Find("u")));
  std::vector<std::string> chans = {"a"}, pats;
  EXPECT_TRUE(Acl::SubscriptionsAllowed(*acl.Find("u"), chans, pats));
  chans = {"b"};
  EXPECT_FALSE(Acl::SubscriptionsAllowed(*acl.Find("u"), chans, pats));
}

}  // namespace
}  // namespace shardnode::node::acl
