/* test_dropin.c -- libglweave-malloc.so as the process's malloc: glibc's
 * edge behaviour of the whole family (memalign rounding, valloc, pvalloc,
 * malloc_usable_size, C23 sized frees, errno), misuse that must abort, and
 * what real processes do around an allocator: glibc's own allocations,
 * threads with more than 32 pthread keys, fork from a multithreaded
 * process, dlopen/dlclose of modules with dynamic TLS (allocated by
 * __tls_get_addr through malloc), and keys created before the allocator's.
 *
 * The program is not linked with glweave.  Run plainly (as `make check`
 * does), it re-executes itself with LD_PRELOAD naming the built library,
 * found from $top_builddir; it exits 77 (skipped) when no shared library was
 * built.  `test_dropin --run NAME` runs one part in the current process.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <iconv.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* C23, not in glibc 2.36 (Debian 12): looked up at run time, in the drop-in. */
static void (*free_sized)(void *ptr, size_t size);
static void (*free_aligned_sized)(void *ptr, size_t alignment, size_t size);

#define DROPIN_LIBRARY "lib/.libs/libglweave-malloc.so"
#define TEST_MODULE "tests/.libs/dropin_module.so"

static int failures;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

/* The numeric value of a pointer, hidden from the optimiser (the malloc
 * attribute lets it assume two results never compare equal). */
static uintptr_t bits(const void *p)
{
    uintptr_t u = (uintptr_t)p;
    __asm__ volatile("" : "+r"(u));
    return u;
}

/* A size the compiler cannot see, so that it does not warn about absurd
 * requests made on purpose. */
static size_t opaque(size_t n)
{
    __asm__ volatile("" : "+r"(n));
    return n;
}

/* A pointer the compiler cannot follow (-Wuse-after-free is wrong after a
 * reallocarray that failed on purpose). */
static void *opaque_pointer(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* A block of at least size usable bytes, aligned to alignment, all of them
 * writable. */
static void check_block(void *p, size_t size, size_t alignment, const char *what)
{
    CHECK(p != NULL, "%s(%zu) returned NULL (errno %d)", what, size, errno);
    if (p == NULL)
        return;
    CHECK(bits(p) % alignment == 0, "%s(%zu) = %p is not %zu-aligned", what, size, p, alignment);
    size_t usable = malloc_usable_size(p);
    CHECK(usable >= size, "%s(%zu): malloc_usable_size = %zu", what, size, usable);
    memset(p, 0xa5, usable);
}

/* --- is it ours? ------------------------------------------------------- */

static void part_ours(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    CHECK(sym != NULL && dladdr(sym, &info) != 0 && info.dli_fname != NULL
              && strstr(info.dli_fname, "libglweave-malloc") != NULL,
          "malloc resolves to %s, not libglweave-malloc",
          sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "?");
    /* glweave's smallest block is 16 bytes; glibc's is 24. */
    void *p = malloc(1);
    CHECK(malloc_usable_size(p) == 16, "malloc_usable_size(malloc(1)) = %zu", malloc_usable_size(p));
    free(p);
}

/* --- the family at its edges -------------------------------------------- */

static void part_semantics(void)
{
    size_t page = page_size();

    /* malloc(0): a unique pointer, freed like any other. */
    void *z1 = malloc(0), *z2 = malloc(0);
    CHECK(z1 != NULL && z2 != NULL && bits(z1) != bits(z2), "malloc(0) = %p, %p", z1, z2);
    free(z1);
    free(z2);
    free(NULL);

    errno = 0;
    CHECK(malloc(opaque(SIZE_MAX)) == NULL && errno == ENOMEM, "malloc(opaque(SIZE_MAX)): errno %d", errno);
    errno = 0;
    CHECK(malloc(opaque(SIZE_MAX / 2 + 1)) == NULL && errno == ENOMEM, "malloc(2^63): errno %d", errno);

    const size_t sizes[] = {1, 8, 16, 24, 100, 1000, 16384, 16385, 100000, (size_t)1 << 20,
                            ((size_t)1 << 20) + 1, (size_t)5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        check_block(p, sizes[i], 16, "malloc");
        free(p);
        unsigned char *c = calloc(sizes[i], 1);
        check_block(c, sizes[i], 16, "calloc");
        if (c) {
            free(c);
            c = calloc(1, sizes[i]);
            size_t nonzero = 0;
            for (size_t j = 0; c && j < sizes[i]; j++)
                nonzero += c[j] != 0;
            CHECK(c != NULL && nonzero == 0, "calloc(1, %zu): %zu nonzero bytes", sizes[i], nonzero);
            free(c);
        }
    }

    /* calloc and reallocarray refuse overflowing products with ENOMEM. */
    errno = 0;
    CHECK(calloc(opaque(SIZE_MAX / 2), 3) == NULL && errno == ENOMEM, "calloc overflow: errno %d", errno);
    char *keep = malloc(40);
    memcpy(keep, "reallocarray must leave this untouched", 39);
    errno = 0;
    CHECK(reallocarray(opaque_pointer(keep), opaque(SIZE_MAX / 8), 16) == NULL && errno == ENOMEM,
          "reallocarray overflow: errno %d", errno);
    CHECK(memcmp(keep, "reallocarray must leave this untouched", 39) == 0, "reallocarray overflow changed the block");
    char *grown = reallocarray(keep, 1000, 10);
    CHECK(grown != NULL && memcmp(grown, "reallocarray must leave this untouched", 39) == 0,
          "reallocarray(p, 1000, 10) lost the contents");
    if (grown)
        keep = grown;
    free(keep);

    /* realloc: NULL is malloc, 0 frees and returns NULL, contents kept. */
    char *r = realloc(NULL, 10);
    check_block(r, 10, 16, "realloc(NULL)");
    CHECK(realloc(r, 0) == NULL, "realloc(p, 0) did not return NULL");
    r = realloc(NULL, 0);
    CHECK(r != NULL, "realloc(NULL, 0) returned NULL");
    for (size_t n = 1; n < ((size_t)3 << 20); n = n * 3 + 1) {
        char *next = realloc(r, n);
        CHECK(next != NULL, "realloc to %zu failed", n);
        if (next == NULL)
            break;
        r = next;
        r[n - 1] = (char)n;
        if (n > 1)
            CHECK(r[0] == 1, "realloc to %zu lost the first byte", n);
        r[0] = 1;
    }
    errno = 0;
    CHECK(realloc(opaque_pointer(r), opaque(SIZE_MAX - 4096)) == NULL && errno == ENOMEM, "realloc(p, huge): errno %d", errno);
    CHECK(r[0] == 1, "a failed realloc changed the block");
    free(r);

    /* posix_memalign: powers of two that are multiples of sizeof(void *). */
    const size_t good[] = {sizeof(void *), 16, 32, 64, 4096, 65536, (size_t)1 << 21};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        void *p = (void *)0x1;
        errno = 1234;
        int rc = posix_memalign(&p, good[i], 100);
        CHECK(rc == 0 && errno == 1234, "posix_memalign(%zu) = %d, errno %d", good[i], rc, errno);
        if (rc == 0) {
            check_block(p, 100, good[i] < 16 ? 16 : good[i], "posix_memalign");
            free(p);
        }
    }
    const size_t bad[] = {0, 1, 2, 4, 12, 24, 48, 4095};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)0x1;
        int rc = posix_memalign(&p, bad[i], 100);
        CHECK(rc == EINVAL && p == (void *)0x1, "posix_memalign(alignment %zu) = %d", bad[i], rc);
    }
    void *unset = (void *)0x1;
    CHECK(posix_memalign(&unset, 64, opaque(SIZE_MAX - 100)) == ENOMEM && unset == (void *)0x1,
          "posix_memalign of an absurd size");

    /* aligned_alloc: any power of two; zero and others are EINVAL. */
    for (size_t a = 1; a <= ((size_t)1 << 22); a <<= 3) {
        void *p = aligned_alloc(a, 3 * a);
        check_block(p, 3 * a, a < 16 ? 16 : a, "aligned_alloc");
        free(p);
    }
    /* opaque(): a constant bad alignment crashes clang 14's optimizer
     * (glibc declares aligned_alloc with alloc_align; the sanitizer builds). */
    errno = 0;
    CHECK(aligned_alloc(opaque(0), 16) == NULL && errno == EINVAL, "aligned_alloc(0): errno %d",
          errno);
    errno = 0;
    CHECK(aligned_alloc(opaque(24), 48) == NULL && errno == EINVAL, "aligned_alloc(24): errno %d",
          errno);

    /* memalign rounds a non-power-of-two alignment up, as glibc does. */
    const struct {
        size_t asked, expected;
    } rounding[] = {{0, 16},      {1, 16},      {8, 16},      {16, 16},        {24, 32},
                    {33, 64},     {48, 64},     {100, 128},   {4097, 8192},    {65535, 65536},
                    {(3u << 20), (4u << 20)}};
    for (size_t i = 0; i < sizeof rounding / sizeof rounding[0]; i++) {
        void *p = memalign(rounding[i].asked, 200);
        check_block(p, 200, rounding[i].expected, "memalign");
        free(p);
    }
    errno = 0;
    CHECK(memalign(opaque(SIZE_MAX / 2 + 2), 16) == NULL && errno == EINVAL, "memalign(2^63 + 1): errno %d", errno);
    errno = 0;
    CHECK(memalign(opaque(SIZE_MAX / 2 + 1), 16) == NULL && errno == ENOMEM, "memalign(2^63): errno %d", errno);
    errno = 0;
    CHECK(memalign(64, opaque(SIZE_MAX - 10)) == NULL && errno == ENOMEM, "memalign(64, huge): errno %d", errno);

    /* valloc: page-aligned; pvalloc: and rounded up to whole pages. */
    void *v = valloc(1);
    check_block(v, 1, page, "valloc");
    free(v);
    v = valloc(0);
    check_block(v, 0, page, "valloc");
    free(v);
    v = valloc(3 * page + 5);
    check_block(v, 3 * page + 5, page, "valloc");
    free(v);
    v = pvalloc(1);
    check_block(v, page, page, "pvalloc");
    free(v);
    v = pvalloc(page + 1);
    check_block(v, 2 * page, page, "pvalloc");
    free(v);
    v = pvalloc(0);
    check_block(v, 0, page, "pvalloc");
    free(v);
    errno = 0;
    CHECK(pvalloc(opaque(SIZE_MAX - 10)) == NULL && errno == ENOMEM, "pvalloc(opaque(SIZE_MAX - 10)): errno %d", errno);

    /* malloc_usable_size, and the sized frees that trust it. */
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) != 0");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        size_t usable = malloc_usable_size(p);
        CHECK(usable >= sizes[i], "usable %zu < %zu", usable, sizes[i]);
        free_sized(p, i % 2 ? sizes[i] : usable);
        void *q = aligned_alloc(256, sizes[i]);
        check_block(q, sizes[i], 256, "aligned_alloc");
        free_aligned_sized(q, 256, sizes[i]);
    }
    free_sized(NULL, 10);
    free_aligned_sized(NULL, 64, 10);
}

/* --- misuse aborts with a report ---------------------------------------- */

static char stack_block[64] __attribute__((aligned(64)));

static void bad_free_global(void) { free(stack_block + 16); }
static void bad_usable_size(void) { (void)malloc_usable_size(stack_block + 16); }
static void bad_free_sized(void)
{
    char *p = malloc(100000);
    free_sized(p, malloc_usable_size(p) + 1);
}
static void bad_free_aligned_sized(void)
{
    char *p = aligned_alloc(64, 64);
    free_aligned_sized(p + 16, 16 * 1024, 48);
}
static void bad_double_free_large(void)
{
    char *p = malloc(100000);
    free(p);
    free(p);
}
static void bad_realloc_global(void) { (void)!realloc(stack_block + 16, 100); }

static void expect_abort(void (*bad)(void), const char *what, const char *expect)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        CHECK(0, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGABRT, SIG_DFL);
        dup2(pipe_fds[1], 2);
        close(pipe_fds[0]);
        bad();
        _exit(0);
    }
    close(pipe_fds[1]);
    char text[512];
    size_t length = 0;
    ssize_t got;
    while (length < sizeof text - 1
           && ((got = read(pipe_fds[0], text + length, sizeof text - 1 - length)) > 0
               || (got < 0 && errno == EINTR)))
        length += got > 0 ? (size_t)got : 0;
    text[length] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
          "%s: expected abort, got status 0x%x, stderr \"%s\"", what, status, text);
    CHECK(strstr(text, expect) != NULL, "%s: stderr \"%s\" lacks \"%s\"", what, text, expect);
}

static void part_misuse(void)
{
    expect_abort(bad_free_global, "free(global)", "glweave: free(): invalid pointer 0x");
    expect_abort(bad_usable_size, "malloc_usable_size(global)",
                 "glweave: malloc_usable_size(): invalid pointer 0x");
    expect_abort(bad_free_sized, "free_sized(size too large)", "glweave: free_sized(): invalid pointer 0x");
    expect_abort(bad_free_aligned_sized, "free_aligned_sized(misaligned)",
                 "glweave: free_aligned_sized(): invalid pointer 0x");
    expect_abort(bad_double_free_large, "double free (large)", "glweave: free(): invalid pointer 0x");
    expect_abort(bad_realloc_global, "realloc(global)", "glweave: realloc(): invalid pointer 0x");
}

/* --- glibc's own allocations --------------------------------------------- */

static int count_entries(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

static int compare_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static void part_libc(void)
{
    char *s = strdup("a string glibc allocated");
    CHECK(s && malloc_usable_size(s) >= 25, "strdup");
    free(s);
    char *formatted = NULL;
    CHECK(asprintf(&formatted, "%s-%d-%0500d", "asprintf", 42, 7) > 500, "asprintf");
    free(formatted);

    char *text = NULL;
    size_t text_size = 0;
    FILE *stream = open_memstream(&text, &text_size);
    for (int i = 0; stream && i < 20000; i++)
        fprintf(stream, "line %d\n", i);
    CHECK(stream && fclose(stream) == 0 && text_size > 100000, "open_memstream: %zu bytes", text_size);
    FILE *in = fmemopen(text, text_size, "r");
    char *line = NULL;
    size_t line_capacity = 0;
    long lines = 0;
    while (in && getline(&line, &line_capacity, in) > 0)
        lines++;
    CHECK(lines == 20000, "getline read %ld lines", lines);
    free(line);
    if (in)
        fclose(in);
    free(text);

    char *real = realpath("/proc/self/exe", NULL);
    CHECK(real != NULL, "realpath");
    free(real);
    char *cwd = getcwd(NULL, 0);
    CHECK(cwd != NULL, "getcwd(NULL, 0)");
    free(cwd);

    FILE *file = fopen("/proc/self/maps", "r");
    char buffer[4096];
    size_t mapped_lines = 0;
    while (file && fgets(buffer, sizeof buffer, file))
        mapped_lines++;
    CHECK(file && mapped_lines > 5, "reading /proc/self/maps");
    if (file)
        fclose(file);

    struct passwd *root = getpwnam("root"); /* NSS: may dlopen modules */
    CHECK(root != NULL && root->pw_uid == 0, "getpwnam(root)");
    struct addrinfo *info = NULL;
    if (getaddrinfo("localhost", "80", NULL, &info) == 0)
        freeaddrinfo(info);

    iconv_t cd = iconv_open("UTF-16", "ISO-8859-1"); /* gconv modules, dlopened */
    if (cd != (iconv_t)-1) {
        char input[] = "caf\xe9", output[64];
        char *from = input, *to = output;
        size_t left = 4, room = sizeof output;
        CHECK(iconv(cd, &from, &left, &to, &room) != (size_t)-1, "iconv");
        iconv_close(cd);
    }

    regex_t re;
    CHECK(regcomp(&re, "^(a|b)+[0-9]{2,}$", REG_EXTENDED) == 0, "regcomp");
    CHECK(regexec(&re, "abba123", 0, NULL, 0) == 0, "regexec");
    regfree(&re);

    glob_t found;
    if (glob("/proc/self/*", 0, NULL, &found) == 0) {
        CHECK(found.gl_pathc > 10, "glob found %zu", found.gl_pathc);
        globfree(&found);
    }
    struct dirent **entries;
    int n = scandir("/proc/self", &entries, count_entries, alphasort);
    CHECK(n > 10, "scandir: %d", n);
    for (int i = 0; i < n; i++)
        free(entries[i]);
    if (n >= 0)
        free(entries);

    /* qsort of a large array allocates its merge buffer. */
    size_t count = 200000;
    unsigned *values = malloc(count * sizeof *values);
    for (size_t i = 0; i < count; i++)
        values[i] = (unsigned)((i * 2654435761u) % 1000003u);
    qsort(values, count, sizeof *values, compare_unsigned);
    size_t unsorted = 0;
    for (size_t i = 1; i < count; i++)
        unsorted += values[i - 1] > values[i];
    CHECK(unsorted == 0, "qsort left %zu pairs out of order", unsorted);
    free(values);
}

/* --- threads with many pthread keys --------------------------------------- */

#define KEYS 40
#define KEY_THREADS 8
static pthread_key_t keys[KEYS];
static int destructor_calls;

static void key_destructor(void *value)
{
    unsigned char *block = value;
    if (block[0] != 0x3c)
        __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    free(block);
    __atomic_add_fetch(&destructor_calls, 1, __ATOMIC_RELAXED);
}

static void *keys_thread(void *argument)
{
    unsigned seed = (unsigned)(uintptr_t)argument;
    /* The first allocation of the thread comes from pthread_setspecific
     * itself when the key is above 31 (glibc callocs the second level). */
    for (int k = KEYS - 1; k >= 0; k--) {
        unsigned char *block = malloc(16 + (size_t)k * 24);
        block[0] = 0x3c;
        pthread_setspecific(keys[k], block);
    }
    void *live[64] = {0};
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned slot = (seed >> 8) % 64;
        size_t size = (seed >> 16) % 8 == 0 ? 20000 + (seed >> 12) % 200000 : 1 + (seed >> 16) % 600;
        free(live[slot]);
        live[slot] = malloc(size);
        memset(live[slot], (int)slot, size < 64 ? size : 64);
    }
    for (int i = 0; i < 64; i++)
        free(live[i]);
    return NULL;
}

static void part_keys(void)
{
    for (int k = 0; k < KEYS; k++)
        CHECK(pthread_key_create(&keys[k], key_destructor) == 0, "pthread_key_create %d", k);
    destructor_calls = 0;
    for (int round = 0; round < 3; round++) {
        pthread_t threads[KEY_THREADS];
        for (int t = 0; t < KEY_THREADS; t++)
            CHECK(pthread_create(&threads[t], NULL, keys_thread, (void *)(uintptr_t)(t + 1 + round * 100)) == 0,
                  "pthread_create");
        for (int t = 0; t < KEY_THREADS; t++)
            pthread_join(threads[t], NULL);
    }
    CHECK(destructor_calls == 3 * KEY_THREADS * KEYS, "%d destructor calls", destructor_calls);
    for (int k = 0; k < KEYS; k++)
        pthread_key_delete(keys[k]);
}

/* --- fork while other threads allocate ------------------------------------ */

static int churn_stop;

static void *churn_thread(void *argument)
{
    unsigned seed = (unsigned)(uintptr_t)argument;
    void *live[32] = {0};
    while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
        seed = seed * 1103515245u + 12345u;
        unsigned slot = (seed >> 8) % 32;
        free(live[slot]);
        size_t size = (seed >> 16) % 16 == 0 ? 50000 + (seed >> 10) % 2000000 : 1 + (seed >> 16) % 2000;
        live[slot] = malloc(size);
        ((char *)live[slot])[size - 1] = 1;
    }
    for (int i = 0; i < 32; i++)
        free(live[i]);
    return NULL;
}

static void *child_thread(void *argument)
{
    (void)argument;
    for (int i = 0; i < 1000; i++)
        free(malloc(1 + (size_t)i * 37));
    return NULL;
}

static void part_fork(void)
{
    pthread_t threads[3];
    for (int t = 0; t < 3; t++)
        pthread_create(&threads[t], NULL, churn_thread, (void *)(uintptr_t)(t + 7));
    for (int i = 0; i < 30; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20); /* a lock left taken by fork shows as SIGALRM */
            void *blocks[200];
            for (int j = 0; j < 200; j++)
                blocks[j] = malloc(j % 10 == 0 ? 300000 : (size_t)j * 13 + 1);
            for (int j = 0; j < 200; j++)
                free(blocks[j]);
            pthread_t thread;
            if (pthread_create(&thread, NULL, child_thread, NULL) != 0)
                _exit(3);
            pthread_join(thread, NULL);
            if (i % 10 == 0) { /* and on to exec, allocating on the way */
                execl("/bin/sh", "sh", "-c", "exit 0", (char *)NULL);
                _exit(4);
            }
            _exit(0);
        }
        CHECK(pid > 0, "fork: %s", strerror(errno));
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child %d: status 0x%x", i, status);
    }
    __atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
    for (int t = 0; t < 3; t++)
        pthread_join(threads[t], NULL);
}

/* --- dlopen / dlclose of modules with dynamic TLS -------------------------- */

#define COPIES 24
#define TLS_THREADS 3

typedef int (*touch_fn)(unsigned);
static touch_fn touches[COPIES];
static pthread_barrier_t tls_barrier;

static void *tls_thread(void *argument)
{
    unsigned seed = (unsigned)(uintptr_t)argument;
    /* No allocation before the barrier: the thread's first malloc is the
     * one __tls_get_addr makes for a module loaded after the thread. */
    pthread_barrier_wait(&tls_barrier);
    int bad = 0;
    for (int round = 1; round <= 3; round++)
        for (int c = 0; c < COPIES; c++)
            bad += touches[c](seed) != (int)(seed * (unsigned)round);
    return (void *)(uintptr_t)bad;
}

static bool copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    bool ok = in >= 0 && out >= 0;
    char buffer[65536];
    ssize_t n;
    while (ok && (n = read(in, buffer, sizeof buffer)) > 0)
        ok = write(out, buffer, (size_t)n) == n;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return ok;
}

static void part_dlopen(void)
{
    const char *module = getenv("GLWEAVE_TEST_MODULE");
    if (module == NULL || access(module, R_OK) != 0) {
        printf("test_dropin: dlopen: no test module (%s): part skipped\n", module ? module : "unset");
        return;
    }
    const char *tmp = getenv("TMPDIR");
    char directory[PATH_MAX];
    snprintf(directory, sizeof directory, "%s/glweave-dropin-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(directory) == NULL) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    char paths[COPIES][PATH_MAX];
    for (int c = 0; c < COPIES; c++) {
        snprintf(paths[c], sizeof paths[c], "%s/module%02d.so", directory, c);
        CHECK(copy_file(module, paths[c]), "copying %s", module);
    }
    for (int cycle = 0; cycle < 3; cycle++) {
        pthread_t threads[TLS_THREADS];
        pthread_barrier_init(&tls_barrier, NULL, TLS_THREADS + 1);
        for (int t = 0; t < TLS_THREADS; t++)
            pthread_create(&threads[t], NULL, tls_thread, (void *)(uintptr_t)(t + 2));
        void *handles[COPIES];
        for (int c = 0; c < COPIES; c++) {
            handles[c] = dlopen(paths[c], RTLD_NOW | RTLD_LOCAL);
            CHECK(handles[c] != NULL, "dlopen %s: %s", paths[c], dlerror());
            if (handles[c] == NULL)
                _exit(1);
            touches[c] = (touch_fn)(uintptr_t)dlsym(handles[c], "dropin_module_touch");
            CHECK(touches[c] != NULL, "dlsym: %s", dlerror());
        }
        pthread_barrier_wait(&tls_barrier);
        for (int c = 0; c < COPIES; c++)
            CHECK(touches[c](1) == 1, "main thread's TLS in copy %d", c);
        for (int t = 0; t < TLS_THREADS; t++) {
            void *bad;
            pthread_join(threads[t], &bad);
            CHECK(bad == NULL, "thread %d saw %zu bad TLS blocks", t, (size_t)(uintptr_t)bad);
        }
        pthread_barrier_destroy(&tls_barrier);
        /* Close in an order unlike the opening one. */
        for (int c = 0; c < COPIES; c += 2)
            CHECK(dlclose(handles[c]) == 0, "dlclose: %s", dlerror());
        for (int c = COPIES - 1; c > 0; c -= 2)
            CHECK(dlclose(handles[c]) == 0, "dlclose: %s", dlerror());
        /* dlerror's message buffer is malloc'd by libc */
        CHECK(dlopen("/nonexistent/glweave-module.so", RTLD_NOW) == NULL && dlerror() != NULL,
              "dlopen of a missing file");
    }
    for (int c = 0; c < COPIES; c++)
        unlink(paths[c]);
    rmdir(directory);
}

/* --- keys created before the allocator's own --------------------------------- */

static void part_early_keys(void)
{
    int (*created)(void) = (int (*)(void))(uintptr_t)dlsym(RTLD_DEFAULT, "dropin_module_keys_created");
    CHECK(created != NULL && created() > 32, "the preloaded module did not create its keys");
    /* Every new thread now calls pthread_setspecific on keys above 31 while
     * setting up its cache; glibc callocs the second level there. */
    part_keys();
    part_fork();
}

/* --- driver ------------------------------------------------------------------ */

static const struct part {
    const char *name;
    void (*run)(void);
} parts[] = {
    {"ours", part_ours},   {"semantics", part_semantics}, {"misuse", part_misuse},
    {"libc", part_libc},   {"keys", part_keys},           {"fork", part_fork},
    {"dlopen", part_dlopen}, {"early-keys", part_early_keys},
};

static int run_parts(int count, char **names)
{
    for (int i = 0; i < count; i++) {
        const struct part *part = NULL;
        for (size_t j = 0; j < sizeof parts / sizeof parts[0]; j++)
            if (strcmp(parts[j].name, names[i]) == 0)
                part = &parts[j];
        if (part == NULL) {
            fprintf(stderr, "test_dropin: no part named %s\n", names[i]);
            return 2;
        }
        int before = failures;
        part->run();
        printf("test_dropin: %-10s %s\n", part->name, failures == before ? "ok" : "FAILED");
        fflush(stdout);
    }
    return failures == 0 ? 0 : 1;
}

/* Runs this program again under LD_PRELOAD=preload with the given parts. */
static int run_preloaded(const char *preload, const char *key_count, const char *module, char **names)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LD_PRELOAD", preload, 1);
        if (module)
            setenv("GLWEAVE_TEST_MODULE", module, 1);
        if (key_count)
            setenv("GLWEAVE_TEST_KEYS", key_count, 1);
        else
            unsetenv("GLWEAVE_TEST_KEYS");
        int argc = 0;
        char *argv[16];
        argv[argc++] = "test_dropin";
        argv[argc++] = "--run";
        while (*names && argc < 15)
            argv[argc++] = *names++;
        argv[argc] = NULL;
        execv("/proc/self/exe", argv);
        perror("test_dropin: execv /proc/self/exe");
        _exit(2);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "test_dropin: preloaded run died of signal %d\n", WTERMSIG(status));
        return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--run") == 0) {
        free_sized = (void (*)(void *, size_t))(uintptr_t)dlsym(RTLD_DEFAULT, "free_sized");
        free_aligned_sized =
            (void (*)(void *, size_t, size_t))(uintptr_t)dlsym(RTLD_DEFAULT, "free_aligned_sized");
        if (free_sized == NULL || free_aligned_sized == NULL) {
            fprintf(stderr, "test_dropin: free_sized or free_aligned_sized not found\n");
            return 1;
        }
        return run_parts(argc - 2, argv + 2);
    }

    /* gcc marks sanitizer builds with __SANITIZE_*__, clang with __has_feature. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif
#ifdef SANITIZER_BUILD
    /* The sanitizer's runtime must be the process's malloc, and the library
     * under test is built with it too. */
    printf("test_dropin: sanitizer build: skipped\n");
    return 77;
#endif
    const char *top = getenv("top_builddir");
    char *top_path = realpath(top && *top ? top : ".", NULL);
    if (top_path == NULL) {
        perror("test_dropin: top_builddir");
        return 1;
    }
    char library[PATH_MAX], module[PATH_MAX], both[2 * PATH_MAX + 2];
    snprintf(library, sizeof library, "%s/%s", top_path, DROPIN_LIBRARY);
    snprintf(module, sizeof module, "%s/%s", top_path, TEST_MODULE);
    free(top_path);
    if (access(library, R_OK) != 0) {
        printf("test_dropin: %s not built (--disable-shared?): skipped\n", library);
        return 77;
    }
    bool have_module = access(module, R_OK) == 0;
    printf("test_dropin: LD_PRELOAD=%s\n", library);
    char *all[] = {"ours", "semantics", "misuse", "libc", "keys", "fork", "dlopen", NULL};
    int status = run_preloaded(library, NULL, have_module ? module : NULL, all);
    if (have_module) {
        /* The module after the allocator in LD_PRELOAD: the dynamic linker
         * runs its constructor (40 keys) before the allocator's. */
        snprintf(both, sizeof both, "%s %s", library, module);
        printf("test_dropin: LD_PRELOAD=\"%s\" GLWEAVE_TEST_KEYS=40\n", both);
        char *early[] = {"ours", "early-keys", NULL};
        int early_status = run_preloaded(both, "40", NULL, early);
        if (status == 0)
            status = early_status;
    } else {
        printf("test_dropin: %s not built: early-keys and dlopen parts skipped\n", module);
    }
    return status;
}
