// libcurl handles owned by unique_ptr, and its global initialisation done once per process.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace steerdns::util {

struct CurlEasyDeleter {
    void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct CurlMultiDeleter {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct CurlSlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlMultiPtr = std::unique_ptr<CURLM, CurlMultiDeleter>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// libcurl wants one global init before any other call; before 7.84 it was not thread-safe,
// so every user calls this and only the first call does the work.
void curl_init_once();

}  // namespace steerdns::util
