#include "steerdns/util/curl.h"

#include <mutex>

namespace steerdns::util {

void curl_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace steerdns::util
