/* The key retention service through the raw calls: a new session keyring, user and logon
 * keys and keyrings added, updated, described, read (a keyring's read returning the full
 * count without overrunning), searched, linked, unlinked, revoked, timed out and cleared;
 * request_key finding keys, failing with ENOKEY, EKEYREVOKED and EKEYEXPIRED, and leaving a
 * negative key; permissions; and Linux's refusals. Serial numbers differ between runs, so
 * only their relations are printed. Run natively and in a box; the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEY_SPEC_THREAD_KEYRING -1
#define KEY_SPEC_PROCESS_KEYRING -2
#define KEY_SPEC_SESSION_KEYRING -3
#define KEY_SPEC_USER_KEYRING -4
#define KEY_SPEC_GROUP_KEYRING -6
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_UPDATE 2
#define KEYCTL_REVOKE 3
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
#define KEYCTL_CLEAR 7
#define KEYCTL_LINK 8
#define KEYCTL_UNLINK 9
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEYCTL_NEGATE 13
#define KEYCTL_SET_REQKEY_KEYRING 14
#define KEYCTL_SET_TIMEOUT 15
#define KEYCTL_INVALIDATE 21

static long add_key(const char *type, const char *desc, const void *p, size_t n, long ring) {
    return syscall(SYS_add_key, type, desc, p, n, ring);
}
static long request_key(const char *type, const char *desc, const char *callout, long ring) {
    return syscall(SYS_request_key, type, desc, callout, ring);
}
static long keyctl(long op, long a, long b, long c, long d) {
    return syscall(SYS_keyctl, op, a, b, c, d);
}

static void show(const char *what, long r) {
    printf("%s: %s\n", what, r < 0 ? strerror(errno) : r == 0 ? "0" : "ok");
}

/* Prints a key's description without its uid and gid. */
static void describe(const char *what, long key) {
    char buf[256];
    long n = keyctl(KEYCTL_DESCRIBE, key, (long)buf, sizeof buf, 0);
    if (n < 0) {
        printf("%s: %s\n", what, strerror(errno));
        return;
    }
    char type[32], perm[16], desc[128];
    unsigned uid, gid;
    if (sscanf(buf, "%31[^;];%u;%u;%15[^;];%127s", type, &uid, &gid, perm, desc) == 5)
        printf("%s: %s %s %s (length %ld)\n", what, type, perm, desc, n);
}

int main(void) {
    long ses = keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
    show("join a new session keyring", ses);
    printf("session id matches: %d\n", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0) == ses);
    describe("session", ses);
    show("no thread keyring yet", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0, 0, 0));
    long tid = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 1, 0, 0);
    show("thread keyring made", tid);
    show("group keyring", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_GROUP_KEYRING, 1, 0, 0));
    show("user keyring", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0, 0, 0));

    long k1 = add_key("user", "one", "payload-1", 9, KEY_SPEC_SESSION_KEYRING);
    show("add user key", k1);
    describe("user key", k1);
    printf("same description updates: %d\n", add_key("user", "one", "payload-2", 9, KEY_SPEC_SESSION_KEYRING) == k1);
    char buf[64] = {0};
    long n = keyctl(KEYCTL_READ, k1, (long)buf, sizeof buf, 0);
    printf("read: %ld %s\n", n, buf);
    memset(buf, 0, sizeof buf);
    n = keyctl(KEYCTL_READ, k1, (long)buf, 4, 0);
    printf("short read: %ld %s\n", n, buf);
    show("update", keyctl(KEYCTL_UPDATE, k1, (long)"three", 5, 0));
    n = keyctl(KEYCTL_READ, k1, (long)buf, sizeof buf, 0);
    printf("read after update: %ld %.5s\n", n, buf);

    long logon = add_key("logon", "svc:name", "secret", 6, KEY_SPEC_SESSION_KEYRING);
    show("add logon key", logon);
    show("read logon key", keyctl(KEYCTL_READ, logon, (long)buf, sizeof buf, 0));
    show("logon without a colon", add_key("logon", "plain", "x", 1, KEY_SPEC_SESSION_KEYRING));

    long ring = add_key("keyring", "inner", NULL, 0, KEY_SPEC_SESSION_KEYRING);
    show("add keyring", ring);
    describe("keyring", ring);
    long k2 = add_key("user", "two", "2", 1, ring);
    int ids[4] = {0};
    n = keyctl(KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, (long)ids, 4, 0);
    printf("session read: %ld bytes, first fits: %d, next untouched: %d\n", n,
           ids[0] == k1 || ids[0] == logon || ids[0] == ring, ids[1] == 0);
    printf("search finds the inner key: %d\n",
           keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)"two", 0) == k2);
    show("search a missing key", keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)"none", 0));
    printf("request finds it: %d\n", request_key("user", "two", NULL, 0) == k2);
    show("request a missing key", request_key("user", "none", NULL, 0));
    show("link into the thread keyring", keyctl(KEYCTL_LINK, k2, tid, 0, 0));
    show("link a keyring into itself", keyctl(KEYCTL_LINK, ring, ring, 0, 0));
    show("unlink", keyctl(KEYCTL_UNLINK, k2, tid, 0, 0));
    show("unlink again", keyctl(KEYCTL_UNLINK, k2, tid, 0, 0));

    show("revoke", keyctl(KEYCTL_REVOKE, k2, 0, 0, 0));
    show("read revoked", keyctl(KEYCTL_READ, k2, (long)buf, sizeof buf, 0));
    show("request revoked", request_key("user", "two", NULL, 0));
    long k3 = add_key("user", "three", "3", 1, KEY_SPEC_SESSION_KEYRING);
    show("timeout", keyctl(KEYCTL_SET_TIMEOUT, k3, 1, 0, 0));
    usleep(1500000);
    show("read expired", keyctl(KEYCTL_READ, k3, (long)buf, sizeof buf, 0));
    show("request expired", request_key("user", "three", NULL, 0));
    long k4 = add_key("user", "four", "4", 1, KEY_SPEC_SESSION_KEYRING);
    show("invalidate", keyctl(KEYCTL_INVALIDATE, k4, 0, 0, 0));
    /* (Reading it by number races with the kernel's collector: ENOKEY or EACCES.) */
    show("request invalidated", request_key("user", "four", NULL, 0));

    /* A request with callout information leaves a negative key. */
    show("request to construct", request_key("user", "made", "info", KEY_SPEC_SESSION_KEYRING));
    show("request the negative key", request_key("user", "made", NULL, 0));
    show("negate without authority", keyctl(KEYCTL_NEGATE, k1, 10, 0, 0));

    /* Permissions: without write permission, no key is added. */
    long ses2 = keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
    show("bad permission bits", keyctl(KEYCTL_SETPERM, ses2, 0x40000000, 0, 0));
    show("setperm", keyctl(KEYCTL_SETPERM, ses2, 0x0b000000, 0, 0));
    show("add to an unwritable keyring", add_key("user", "x", "x", 1, KEY_SPEC_SESSION_KEYRING));
    show("set reqkey default to the session", keyctl(KEYCTL_SET_REQKEY_KEYRING, 3, 0, 0, 0));
    show("construct into it", request_key("user", "y", "info", 0));
    printf("reqkey default read back: %ld\n", keyctl(KEYCTL_SET_REQKEY_KEYRING, -1, 0, 0, 0));

    /* Refusals. */
    show("a kernel type", add_key(".dead", "d", "x", 1, KEY_SPEC_SESSION_KEYRING));
    show("unknown type", add_key("nosuchtype", "d", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    show("null payload", add_key("user", "d", NULL, 8, KEY_SPEC_PROCESS_KEYRING));
    show("empty user payload", add_key("user", "d", "", 0, KEY_SPEC_PROCESS_KEYRING));
    show("keyring with a payload", add_key("keyring", "d", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    show("empty description", add_key("user", "", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    show("bad type pointer", add_key((char *)8, "d", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    show("bad keyring id", add_key("user", "d", "x", 1, -99));
    show("request a bad callout", request_key("user", "d", (char *)-1, 0));
    show("read a missing key", keyctl(KEYCTL_READ, 0x7fffffff, (long)buf, sizeof buf, 0));
    show("unknown operation", keyctl(9999, 0, 0, 0, 0));
    /* (The first session keyring is no longer held: natively the collector may have taken
     * it already, so it is not used again.) */
    (void)ses;
    show("clear an unwritable keyring", keyctl(KEYCTL_CLEAR, KEY_SPEC_SESSION_KEYRING, 0, 0, 0));
    return 0;
}
