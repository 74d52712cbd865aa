// cgroup attachment through pinned bpf_links, so attachments outlive the
// process and a restarted loader swaps programs atomically (bpf_link_update).
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "entry.h"

namespace ebf {

namespace {

bpf_attach_type AttachType(Napi::Env env, const std::string& s) {
  if (s == "connect4") return BPF_CGROUP_INET4_CONNECT;
  if (s == "sendmsg4") return BPF_CGROUP_UDP4_SENDMSG;
  if (s == "recvmsg4") return BPF_CGROUP_UDP4_RECVMSG;
  if (s == "getpeername4") return BPF_CGROUP_INET4_GETPEERNAME;
  if (s == "sock_create") return BPF_CGROUP_INET_SOCK_CREATE;
  if (s == "ingress") return BPF_CGROUP_INET_INGRESS;
  if (s == "egress") return BPF_CGROUP_INET_EGRESS;
  throw Napi::TypeError::New(env, "unknown attachType " + s);
}

std::string Dirname(const std::string& p) {
  size_t i = p.find_last_of('/');
  return i == std::string::npos || i == 0 ? "/" : p.substr(0, i);
}

// A cgroup link whose cgroup is gone or that was detached reports cgroup id 0.
bool DefunctLink(int fd) {
  struct bpf_link_info li;
  memset(&li, 0, sizeof li);
  uint32_t len = sizeof li;
  return bpf_obj_get_info_by_fd(fd, &li, &len) == 0 && li.type == BPF_LINK_TYPE_CGROUP &&
         li.cgroup.cgroup_id == 0;
}

}  // namespace

Napi::Value CgroupAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = ObjectArg(info, 0, "opts");
  std::string cgPath = OptString(o, "cgroupPath");
  std::string pinPath = OptString(o, "pinPath");
  int progFd = OptInt(o, "progFd", -1);
  if (cgPath.empty() || pinPath.empty() || progFd < 0)
    throw Napi::TypeError::New(env, "cgroupPath, pinPath and progFd are required");
  bpf_attach_type type = AttachType(env, OptString(o, "attachType"));

  struct stat st;
  if (stat(cgPath.c_str(), &st) != 0) ThrowErrno(env, errno, "stat", cgPath);

  int linkFd = bpf_obj_get(pinPath.c_str());
  if (linkFd >= 0 && DefunctLink(linkFd)) {
    // Detached by someone else but still pinned: replace it with a live one.
    close(linkFd);
    if (unlink(pinPath.c_str()) != 0) ThrowErrno(env, errno, "unlink", pinPath);
    linkFd = -ENOENT;
  }
  if (linkFd >= 0) {
    Fd link(linkFd);
    // Refuse to retarget a pin that belongs to another cgroup or hook.
    struct bpf_link_info li;
    memset(&li, 0, sizeof li);
    uint32_t len = sizeof li;
    int r = bpf_obj_get_info_by_fd(linkFd, &li, &len);
    if (r < 0) ThrowErrno(env, -r, "bpf_obj_get_info_by_fd", pinPath);
    if (li.type != BPF_LINK_TYPE_CGROUP || li.cgroup.attach_type != (uint32_t)type ||
        li.cgroup.cgroup_id != (uint64_t)st.st_ino)
      ThrowErrno(env, EEXIST, "bpf_link_update", pinPath + " is a link for another cgroup or attach type");
    r = bpf_link_update(linkFd, progFd, nullptr);
    if (r < 0) ThrowErrno(env, -r, "bpf_link_update", pinPath);
    return env.Undefined();
  }
  if (linkFd != -ENOENT) ThrowErrno(env, -linkFd, "bpf_obj_get", pinPath);

  int r = MkdirP(Dirname(pinPath));
  if (r != 0) ThrowErrno(env, r, "mkdir", Dirname(pinPath));
  int cgFd = open(cgPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgFd < 0) ThrowErrno(env, errno, "open", cgPath);
  Fd cg(cgFd);
  linkFd = bpf_link_create(progFd, cgFd, type, nullptr);
  if (linkFd < 0) ThrowErrno(env, -linkFd, "bpf_link_create", cgPath);
  Fd link(linkFd);  // closing an unpinned link detaches it: pin failure undoes the attach
  r = bpf_obj_pin(linkFd, pinPath.c_str());
  if (r < 0) ThrowErrno(env, -r, "bpf_obj_pin", pinPath);
  return env.Undefined();
}

Napi::Value CgroupDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string pinPath = StringArg(info, 0, "pinPath");
  int linkFd = bpf_obj_get(pinPath.c_str());
  if (linkFd == -ENOENT) return Napi::Boolean::New(env, false);
  if (linkFd < 0) ThrowErrno(env, -linkFd, "bpf_obj_get", pinPath);
  Fd link(linkFd);
  int r = bpf_link_detach(linkFd);
  if (r < 0) ThrowErrno(env, -r, "bpf_link_detach", pinPath);
  if (unlink(pinPath.c_str()) != 0) ThrowErrno(env, errno, "unlink", pinPath);
  return Napi::Boolean::New(env, true);
}

}  // namespace ebf
