/* test_version.c -- the library and its pkg-config file tell the same
 * version: gl_version() of the built libglweave equals
 * `pkg-config --modversion glweave` run on the built glweave.pc, and has
 * the form MAJOR.MINOR.PATCH that glweave.h promises.  Both come from
 * AC_INIT; this test keeps them from drifting apart.
 * Exit 77 (skipped) when pkg-config cannot be run.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <glweave.h>

int main(void)
{
    const char *builddir = getenv("top_builddir");
    const char *pkg_config = getenv("PKG_CONFIG");
    char pc_path[4096], command[4096], modversion[256] = "";
    const char *version = gl_version();
    unsigned major, minor, patch;
    char tail;
    FILE *out;
    int status;

    if (builddir == NULL)
        builddir = ".";
    if (pkg_config == NULL || *pkg_config == '\0')
        pkg_config = "pkg-config";

    if (version == NULL ||
        sscanf(version, "%u.%u.%u%c", &major, &minor, &patch, &tail) != 3) {
        printf("test_version: gl_version() is \"%s\", not MAJOR.MINOR.PATCH\n",
               version ? version : "(null)");
        return 1;
    }

    /* Only the built glweave.pc, never an installed one. */
    snprintf(pc_path, sizeof pc_path, "%s/pkgconfig", builddir);
    if (setenv("PKG_CONFIG_PATH", pc_path, 1) != 0 ||
        setenv("PKG_CONFIG_LIBDIR", pc_path, 1) != 0) {
        perror("test_version: setenv");
        return 1;
    }
    snprintf(command, sizeof command, "%s --modversion glweave 2>&1", pkg_config);
    out = popen(command, "r");
    if (out == NULL) {
        printf("test_version: cannot run %s: skipped\n", pkg_config);
        return 77;
    }
    if (fgets(modversion, sizeof modversion, out) == NULL)
        modversion[0] = '\0';
    status = pclose(out);
    modversion[strcspn(modversion, "\n")] = '\0';
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 127) {
        printf("test_version: %s not found: skipped\n", pkg_config);
        return 77;
    }
    if (WEXITSTATUS(status) != 0) {
        printf("test_version: %s failed: %s\n", command, modversion);
        return 1;
    }

    if (strcmp(version, modversion) != 0) {
        printf("test_version: gl_version() is \"%s\" but %s/glweave.pc says \"%s\"\n",
               version, pc_path, modversion);
        return 1;
    }
    printf("test_version: gl_version() and glweave.pc agree: %s\n", version);
    return 0;
}
