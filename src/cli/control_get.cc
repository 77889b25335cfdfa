#include "steerdns/cli/control_get.h"

#include <curl/curl.h>

#include "steerdns/control/auth.h"
#include "steerdns/util/curl.h"
#include "steerdns/util/sockaddr.h"

namespace steerdns::cli {
namespace {

size_t on_data(char* data, size_t size, size_t n, void* userp) {
    auto* body = static_cast<std::string*>(userp);
    const size_t len = size * n;
    if (body->size() + len > (64u << 20)) return 0;  // a status document is far smaller
    body->append(data, len);
    return len;
}

}  // namespace

int control_request(const std::string& command, const std::string& control,
                    const std::string& token_file, const std::string& target,
                    const std::string* post_json, nlohmann::json& doc, std::ostream& err) {
    const std::string who = "steerdns " + command + ": ";
    util::ListenAddr at;
    std::string error;
    if (!util::parse_listen(control, at, error)) {
        err << who << "--control " << control << ": " << error << "\n";
        return 2;
    }
    std::string token;
    if (!token_file.empty() && !control::read_token_file(token_file, token, error)) {
        err << who << "--control-token-file " << error << "\n";
        return 2;
    }
    util::curl_init_once();
    util::CurlEasyPtr curl(curl_easy_init());
    if (!curl) {
        err << who << "cannot initialise libcurl\n";
        return 1;
    }
    const std::string url = "http://" + control + target;
    std::string body;
    char errbuf[CURL_ERROR_SIZE] = {};
    util::CurlSlistPtr headers;
    if (post_json) {
        headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, post_json->c_str());
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(post_json->size()));
    }
    if (!token.empty()) {
        const std::string h = "Authorization: Bearer " + token;
        headers.reset(curl_slist_append(headers.release(), h.c_str()));
    }
    if (headers) curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl.get(), CURLOPT_PROXY, "");  // never through http_proxy & co
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK) {
        err << who << "cannot reach the control endpoint at " << control << ": "
            << (errbuf[0] ? errbuf : curl_easy_strerror(rc))
            << " (is steerdns running, with --control " << control << "?)\n";
        return 1;
    }
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    doc = nlohmann::json::parse(body, nullptr, false);
    if (status != 200) {
        const bool has_error = doc.is_object() && doc.contains("error") && doc["error"].is_string();
        err << who << url << ": HTTP " << status << ": "
            << (has_error ? doc["error"].get<std::string>() : body.substr(0, 200)) << "\n";
        return 1;
    }
    if (doc.is_discarded() || !doc.is_object()) {
        err << who << url << " did not answer with a JSON document\n";
        return 1;
    }
    return 0;
}

int control_get(const std::string& command, const std::string& control,
                const std::string& token_file, const std::string& target, nlohmann::json& doc,
                std::ostream& err) {
    return control_request(command, control, token_file, target, nullptr, doc, err);
}

}  // namespace steerdns::cli
