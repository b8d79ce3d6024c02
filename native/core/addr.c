/* Socket addresses: a rule's address filter, a sockaddr read into it, and its printed form. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sysfault.h"

int sf_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct sf_addr *out) {
  memset(out, 0, sizeof *out);
  if (!sa || len < (socklen_t)sizeof(sa_family_t)) return -1;
  if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    out->family = 4, out->prefix = 32, out->port = ntohs(in->sin_port);
    memcpy(out->bytes, &in->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    out->port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      out->family = 4, out->prefix = 32;
      memcpy(out->bytes, in6->sin6_addr.s6_addr + 12, 4);
    } else {
      out->family = 6, out->prefix = 128;
      memcpy(out->bytes, &in6->sin6_addr, 16);
    }
    return 0;
  }
  return -1;
}

int sf_addr_match(const struct sf_addr *f, const struct sf_addr *a) {
  if (!a || a->family == 0) return 0;
  if (f->port && f->port != a->port) return 0;
  if (f->family == 0) return 1;
  if (f->family != a->family) return 0;
  unsigned bits = f->prefix, full = bits / 8, rest = bits % 8;
  if (memcmp(f->bytes, a->bytes, full) != 0) return 0;
  if (rest) {
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    if ((f->bytes[full] & mask) != (a->bytes[full] & mask)) return 0;
  }
  return 1;
}

void sf_addr_format(const struct sf_addr *a, char *buf, size_t len) {
  char host[INET6_ADDRSTRLEN] = "";
  if (a->family == 4) inet_ntop(AF_INET, a->bytes, host, sizeof host);
  if (a->family == 6) inet_ntop(AF_INET6, a->bytes, host, sizeof host);
  if (a->family == 6)
    snprintf(buf, len, "[%s]:%u", host, a->port);
  else
    snprintf(buf, len, "%s:%u", host, a->port);
}
