#include "steerdns/server/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "steerdns/util/log.h"

namespace steerdns::server {
namespace {

[[noreturn]] void fail(const std::string& user, const std::string& what) {
    std::string m = "--user ";
    m += user;
    m += ": ";
    m += what;
    throw std::runtime_error(m);
}

[[noreturn]] void fail_errno(const std::string& user, const std::string& call) {
    std::string what = call;
    what += ": ";
    what += std::strerror(errno);
    fail(user, what);
}

struct Account {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

bool lookup(const std::string& name, Account& out, std::string& error) {
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    for (;;) {
        const int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
        if (rc == ERANGE && buf.size() < (1u << 20)) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc != 0) {
            error = std::strerror(rc);
            return false;
        }
        break;
    }
    if (found == nullptr) {
        error = "no such user";
        return false;
    }
    out.uid = pw.pw_uid;
    out.gid = pw.pw_gid;
    out.name = pw.pw_name;
    return true;
}

// True when the process holds any capability at all (permitted or effective): after a switch
// from root to another user the kernel clears them, unless something asked it not to.
bool holds_capabilities() {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capget, &header, data) != 0) return true;  // cannot tell: assume the worst
    for (const auto& d : data)
        if (d.permitted != 0 || d.effective != 0) return true;
    return false;
}

}  // namespace

void drop_privileges(const std::string& user) {
    Account a;
    std::string error;
    if (!lookup(user, a, error)) fail(user, error);

    if (geteuid() != 0) {
        // Not root: at most the capabilities a service manager gave us (CAP_NET_BIND_SERVICE).
        // Nothing to drop when we already are that user; another user is out of reach.
        if (getuid() == a.uid && geteuid() == a.uid) {
            util::log_info("already running as the --user account", {{"user", a.name}});
            return;
        }
        std::string what = "cannot switch from uid ";
        what += std::to_string(geteuid());
        what += " to ";
        what += a.name;
        what += " (uid ";
        what += std::to_string(a.uid);
        what += ") without root; start as root, or as ";
        what += a.name;
        what += " itself (with CAP_NET_BIND_SERVICE for ports below 1024)";
        fail(user, what);
    }

    // Groups first: once the uid is not 0 they can no longer be changed.
    if (initgroups(a.name.c_str(), a.gid) != 0) fail_errno(user, "initgroups");
    if (setgid(a.gid) != 0) fail_errno(user, "setgid(" + std::to_string(a.gid) + ")");
    if (setuid(a.uid) != 0) fail_errno(user, "setuid(" + std::to_string(a.uid) + ")");

    // setuid() as root sets the real, effective and saved IDs; check all three, and that
    // neither root nor a capability is left to come back with.
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
        fail_errno(user, "getresuid");
    if (ru != a.uid || eu != a.uid || su != a.uid || rg != a.gid || eg != a.gid || sg != a.gid)
        fail(user, "user or group IDs did not all change");
    if (a.uid != 0) {
        if (setuid(0) == 0 || seteuid(0) == 0) fail(user, "root could be regained after setuid");
        if (a.gid != 0 && (setgid(0) == 0 || setegid(0) == 0))
            fail(user, "group root could be regained after setgid");
        if (holds_capabilities()) fail(user, "capabilities are still held after setuid");
    }
    util::log_info(
        "dropped privileges",
        {{"user", a.name}, {"uid", std::to_string(a.uid)}, {"gid", std::to_string(a.gid)}});
}

}  // namespace steerdns::server
