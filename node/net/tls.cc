#include "node/net/tls.h"

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "node/server/log.h"

namespace shardnode::node {
namespace ssl = boost::asio::ssl;

namespace {

constexpr int kTlsV1 = 1 << 0;
constexpr int kTlsV1_1 = 1 << 1;
constexpr int kTlsV1_2 = 1 << 2;
constexpr int kTlsV1_3 = 1 << 3;

// tls-protocols: a space-separated list; unset means TLSv1.2 and TLSv1.3.
// Returns -1 after logging Redis's warning for a bad word.
int ParseProtocols(const std::string& text) {
  if (text.empty()) return kTlsV1_2 | kTlsV1_3;
  int protocols = 0;
  // Split on every single space, as sdssplitlen: a double space makes an
  // empty word, which is invalid.
  for (absl::string_view word : absl::StrSplit(text, ' ')) {
    if (absl::EqualsIgnoreCase(word, "tlsv1")) {
      protocols |= kTlsV1;
    } else if (absl::EqualsIgnoreCase(word, "tlsv1.1")) {
      protocols |= kTlsV1_1;
    } else if (absl::EqualsIgnoreCase(word, "tlsv1.2")) {
      protocols |= kTlsV1_2;
    } else if (absl::EqualsIgnoreCase(word, "tlsv1.3")) {
      protocols |= kTlsV1_3;
    } else {
      Log(LogLevel::kWarning,
          "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' "
          "and 'TLSv1.3'.");
      return -1;
    }
  }
  return protocols;
}

std::string OpenSslError() {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  return buf;
}

// Hands the key file's passphrase to OpenSSL (the userdata is the string).
int PasswordCallback(char* buf, int size, int /*rwflag*/, void* userdata) {
  const auto* pass = static_cast<const std::string*>(userdata);
  if (pass == nullptr || pass->empty()) return -1;
  if (pass->size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

// The settings both contexts share (Redis's createSSLContext); the server
// or client certificate and key by `client`. nullptr after logging.
std::shared_ptr<ssl::context> MakeBaseContext(const ServerOptions& o, int protocols, bool client) {
  const std::string& cert = client ? o.tls_client_cert_file : o.tls_cert_file;
  const std::string& key = client ? o.tls_client_key_file : o.tls_key_file;
  const std::string& pass = client ? o.tls_client_key_file_pass : o.tls_key_file_pass;
  auto ctx = std::make_shared<ssl::context>(ssl::context::sslv23);
  SSL_CTX* h = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_options(h, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS |
                             SSL_OP_NO_COMPRESSION);
  if (!(protocols & kTlsV1)) SSL_CTX_set_options(h, SSL_OP_NO_TLSv1);
  if (!(protocols & kTlsV1_1)) SSL_CTX_set_options(h, SSL_OP_NO_TLSv1_1);
  if (!(protocols & kTlsV1_2)) SSL_CTX_set_options(h, SSL_OP_NO_TLSv1_2);
  if (!(protocols & kTlsV1_3)) SSL_CTX_set_options(h, SSL_OP_NO_TLSv1_3);
  SSL_CTX_set_mode(h, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(h, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);

  if (SSL_CTX_use_certificate_chain_file(h, cert.c_str()) <= 0) {
    Logf(LogLevel::kWarning, "Failed to load certificate: %s: %s", cert, OpenSslError());
    return nullptr;
  }
  // The passphrase is only needed while the key is read; the userdata is
  // cleared after, since asio's context would free it as its own.
  SSL_CTX_set_default_passwd_cb(h, PasswordCallback);
  SSL_CTX_set_default_passwd_cb_userdata(h, const_cast<std::string*>(&pass));
  const int key_ok = SSL_CTX_use_PrivateKey_file(h, key.c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_set_default_passwd_cb_userdata(h, nullptr);
  SSL_CTX_set_default_passwd_cb(h, nullptr);
  if (key_ok <= 0) {
    Logf(LogLevel::kWarning, "Failed to load private key: %s: %s", key, OpenSslError());
    return nullptr;
  }
  const char* ca_file = o.tls_ca_cert_file.empty() ? nullptr : o.tls_ca_cert_file.c_str();
  const char* ca_dir = o.tls_ca_cert_dir.empty() ? nullptr : o.tls_ca_cert_dir.c_str();
  if ((ca_file || ca_dir) && SSL_CTX_load_verify_locations(h, ca_file, ca_dir) <= 0) {
    Logf(LogLevel::kWarning, "Failed to configure CA certificate(s) file/directory: %s",
         OpenSslError());
    return nullptr;
  }
  if (!o.tls_ciphers.empty() && !SSL_CTX_set_cipher_list(h, o.tls_ciphers.c_str())) {
    Logf(LogLevel::kWarning, "Failed to configure ciphers: %s", o.tls_ciphers);
    return nullptr;
  }
  if (!o.tls_ciphersuites.empty() && !SSL_CTX_set_ciphersuites(h, o.tls_ciphersuites.c_str())) {
    Logf(LogLevel::kWarning, "Failed to configure ciphersuites: %s", o.tls_ciphersuites);
    return nullptr;
  }
  return ctx;
}

// tls-dh-params-file into the server context. False after logging.
bool LoadDhParams(SSL_CTX* h, const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (f == nullptr) {
    Logf(LogLevel::kWarning, "Failed to load %s: %s", file, std::strerror(errno));
    return false;
  }
  EVP_PKEY* pkey = nullptr;
  OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(
      &pkey, "PEM", nullptr, "DH", OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS, nullptr, nullptr);
  if (dctx == nullptr) {
    Log(LogLevel::kWarning, "No decoder for DH params.");
    std::fclose(f);
    return false;
  }
  const bool decoded = OSSL_DECODER_from_fp(dctx, f);
  OSSL_DECODER_CTX_free(dctx);
  std::fclose(f);
  if (!decoded) {
    Logf(LogLevel::kWarning, "%s: failed to read DH params.", file);
    return false;
  }
  if (SSL_CTX_set0_tmp_dh_pkey(h, pkey) <= 0) {  // takes pkey on success
    Logf(LogLevel::kWarning, "Failed to load DH params file: %s: %s", file, OpenSslError());
    EVP_PKEY_free(pkey);
    return false;
  }
  return true;
}

}  // namespace

bool TlsWanted(const ServerOptions& opts) {
  return opts.tls_port != 0 || opts.tls_replication || opts.tls_cluster;
}

bool TlsContexts::Configure(const ServerOptions& o) {
  if (o.tls_cert_file.empty()) {
    Log(LogLevel::kWarning, "No tls-cert-file configured!");
    return false;
  }
  if (o.tls_key_file.empty()) {
    Log(LogLevel::kWarning, "No tls-key-file configured!");
    return false;
  }
  if ((o.tls_auth_clients != 0 || o.tls_cluster || o.tls_replication) &&
      o.tls_ca_cert_file.empty() && o.tls_ca_cert_dir.empty()) {
    Log(LogLevel::kWarning,
        "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
        "tls-replication or tls-auth-clients are enabled!");
    return false;
  }
  const int protocols = ParseProtocols(o.tls_protocols);
  if (protocols < 0) return false;

  std::shared_ptr<ssl::context> server = MakeBaseContext(o, protocols, /*client=*/false);
  if (!server) return false;
  SSL_CTX* h = server->native_handle();
  if (o.tls_session_caching) {
    SSL_CTX_set_session_cache_mode(h, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(h, o.tls_session_cache_size);
    SSL_CTX_set_timeout(h, o.tls_session_cache_timeout);
    static constexpr unsigned char kSessionIdContext[] = {'r', 'e', 'd', 'i', 's'};
    SSL_CTX_set_session_id_context(h, kSessionIdContext, sizeof(kSessionIdContext));
  } else {
    SSL_CTX_set_session_cache_mode(h, SSL_SESS_CACHE_OFF);
  }
#ifdef SSL_OP_NO_CLIENT_RENEGOTIATION
  SSL_CTX_set_options(h, SSL_OP_NO_CLIENT_RENEGOTIATION);
#endif
  SSL_CTX_set_options(h, SSL_OP_SINGLE_DH_USE);
  if (o.tls_prefer_server_ciphers) SSL_CTX_set_options(h, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!o.tls_dh_params_file.empty()) {
    if (!LoadDhParams(h, o.tls_dh_params_file)) return false;
  } else {
    SSL_CTX_set_dh_auto(h, 1);
  }

  std::shared_ptr<ssl::context> client;
  if (!o.tls_client_cert_file.empty() && !o.tls_client_key_file.empty()) {
    client = MakeBaseContext(o, protocols, /*client=*/true);
    if (!client) return false;
  }
  server_ = std::move(server);
  client_ = std::move(client);
  return true;
}

int TlsVerifyMode(int tls_auth_clients) {
  switch (tls_auth_clients) {
    case 0:
      return SSL_VERIFY_NONE;
    case 2:
      return SSL_VERIFY_PEER;
    default:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
}

std::string TlsErrorText(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    char buf[512];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof(buf));
    return buf;
  }
  return ec.message();
}

}  // namespace shardnode::node
