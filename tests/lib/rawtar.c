/* rawtar: writes hostile tar streams for the installer tests (tests/e2e/sfx.sh).
 *
 *   rawtar CASE OUT     write the named case to OUT ("-": stdout)
 *   rawtar --list       the case names, one per line, with what they hold
 *
 * Each case is a ustar stream with correct checksums: the directories
 * opt/example-agent/ and opt/example-agent/lib/ and a small file (what a
 * real payload starts with), then the hostile entries, then the two zero
 * blocks that end an archive (except "short", which ends in the middle of a
 * file's data). "good" has no hostile entry: it shows the stream itself is
 * well-formed, so a refusal of the others is about their hostile entry.
 *
 * The escapes aim at a canary: from the install's staging directory
 * (ROOT/opt/NAME/versions/.stage-V-X), "../../../../../canary" is a file
 * beside ROOT. libc only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512

static FILE *out;

static void
die(const char *what)
{
    fprintf(stderr, "rawtar: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
put(const void *p, size_t n)
{
    if (fwrite(p, 1, n, out) != n)
        die("write");
}

static void
pad(size_t n)
{
    static const char zero[BLOCK];

    if (n % BLOCK)
        put(zero, BLOCK - n % BLOCK);
}

static void
octal(char *field, size_t len, unsigned long long v)
{
    /* len-1 digits, zero-padded, then NUL (as GNU tar writes them). */
    size_t i = len - 1;

    field[i] = '\0';
    while (i-- > 0) {
        field[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

/* One header block. name may be up to 100 bytes (no prefix split: the cases
 * are short). */
static void
header(const char *name, char type, unsigned mode, unsigned long long size, const char *link,
       unsigned devmajor, unsigned devminor)
{
    unsigned char h[BLOCK];
    unsigned sum = 0;
    size_t i;

    memset(h, 0, sizeof(h));
    if (strlen(name) > 100 || (link && strlen(link) > 100)) {
        fprintf(stderr, "rawtar: name too long for a plain header: %s\n", name);
        exit(1);
    }
    memcpy(h, name, strlen(name));                  /* name[100] */
    octal((char *)h + 100, 8, mode);                /* mode[8] */
    octal((char *)h + 108, 8, 0);                   /* uid[8] */
    octal((char *)h + 116, 8, 0);                   /* gid[8] */
    octal((char *)h + 124, 12, size);               /* size[12] */
    octal((char *)h + 136, 12, 1700000000ULL);      /* mtime[12] */
    memset(h + 148, ' ', 8);                        /* chksum[8], spaces while summing */
    h[156] = (unsigned char)type;                   /* typeflag */
    if (link)
        memcpy(h + 157, link, strlen(link));        /* linkname[100] */
    memcpy(h + 257, "ustar", 6);                    /* magic[6] "ustar\0" */
    memcpy(h + 263, "00", 2);                       /* version[2] */
    memcpy(h + 265, "root", 4);                     /* uname[32] */
    memcpy(h + 297, "root", 4);                     /* gname[32] */
    octal((char *)h + 329, 8, devmajor);            /* devmajor[8] */
    octal((char *)h + 337, 8, devminor);            /* devminor[8] */
    for (i = 0; i < BLOCK; i++)
        sum += h[i];
    octal((char *)h + 148, 7, sum);                 /* six digits, NUL ... */
    h[155] = ' ';                                   /* ... and a space */
    put(h, BLOCK);
}

static void
dir(const char *name)
{
    header(name, '5', 0755, 0, NULL, 0, 0);
}

static void
file(const char *name, unsigned mode, const char *data)
{
    size_t n = strlen(data);

    header(name, '0', mode, n, NULL, 0, 0);
    put(data, n);
    pad(n);
}

static void
symlink_(const char *name, const char *target)
{
    header(name, '2', 0777, 0, target, 0, 0);
}

static void
hardlink(const char *name, const char *target)
{
    header(name, '1', 0644, 0, target, 0, 0);
}

/* An extended header ('x' pax, or 'L' GNU long name) carrying text. */
static void
extended(const char *name, char type, const char *text, size_t n)
{
    header(name, type, 0644, n, NULL, 0, 0);
    put(text, n);
    pad(n);
}

static void
pax_record(const char *key, const char *value)
{
    char rec[1024];
    size_t body = strlen(key) + strlen(value) + 3; /* ' ' '=' '\n' */
    size_t len = body + 1, digits;

    /* The record's length counts its own digits. */
    for (;;) {
        digits = (size_t)snprintf(NULL, 0, "%zu", len);
        if (body + digits == len)
            break;
        len = body + digits;
    }
    snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, value);
    extended("PaxHeaders/x", 'x', rec, strlen(rec));
}

static void
start(void)
{
    dir("opt/example-agent/");
    dir("opt/example-agent/lib/");
    file("opt/example-agent/lib/readme.txt", 0644, "hello from rawtar\n");
}

static void
end(void)
{
    static const char zero[2 * BLOCK];

    put(zero, sizeof(zero));
}

static const struct {
    const char *name, *what;
} cases[] = {
    {"good", "a well-formed stream, nothing hostile"},
    {"abs", "a file at an absolute path (/etc/consign-rawtar-evil)"},
    {"dotdot", "a file at ../../../../../canary (out of the staging directory)"},
    {"dotdot-mid", "a file at a/../../../../../../canary (.. inside the path)"},
    {"symlink-abs", "opt/example-agent/evil -> /etc, then opt/example-agent/evil/passwd"},
    {"symlink-up", "opt/example-agent/up -> ../../.., then opt/example-agent/up/x"},
    {"symlink-inner", "opt/example-agent/ok -> lib (harmless), then a file through it"},
    {"hardlink-abs", "a hardlink to /etc/passwd"},
    {"hardlink-up", "a hardlink to ../x"},
    {"chardev", "a character device (1,3)"},
    {"blockdev", "a block device (8,0)"},
    {"fifo", "a fifo"},
    {"setuid", "a setuid root file (04755)"},
    {"setgid", "a setgid file (02755)"},
    {"short", "a header whose size (2000) lies: the stream ends after 1000 of them"},
    {"outside-usr", "a file outside the allowed set: usr/bin/x"},
    {"outside-cron", "a file outside the allowed set: etc/cron.d/x"},
    {"pax-dotdot", "a pax header whose path is ../../../../../canary"},
    {"gnu-long-abs", "a GNU long name (L) that is absolute: /etc/consign-rawtar-long"},
};

int
main(int argc, char **argv)
{
    const char *c;
    size_t i;

    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            printf("%s\t%s\n", cases[i].name, cases[i].what);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: rawtar CASE OUT | rawtar --list\n");
        return 2;
    }
    c = argv[1];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(c, cases[i].name) == 0)
            break;
    if (i == sizeof(cases) / sizeof(cases[0])) {
        fprintf(stderr, "rawtar: unknown case '%s' (see rawtar --list)\n", c);
        return 2;
    }
    out = strcmp(argv[2], "-") == 0 ? stdout : fopen(argv[2], "wb");
    if (!out)
        die(argv[2]);

    start();
    if (strcmp(c, "good") == 0) {
        dir("opt/example-agent/bin/");
        file("opt/example-agent/bin/tool", 0755, "#!/bin/sh\necho rawtar\n");
    } else if (strcmp(c, "abs") == 0) {
        file("/etc/consign-rawtar-evil", 0644, "evil\n");
    } else if (strcmp(c, "dotdot") == 0) {
        file("../../../../../canary", 0644, "evil\n");
    } else if (strcmp(c, "dotdot-mid") == 0) {
        file("a/../../../../../../canary", 0644, "evil\n");
    } else if (strcmp(c, "symlink-abs") == 0) {
        symlink_("opt/example-agent/evil", "/etc");
        file("opt/example-agent/evil/passwd", 0644, "evil::0:0::/:/bin/sh\n");
    } else if (strcmp(c, "symlink-up") == 0) {
        symlink_("opt/example-agent/up", "../../..");
        file("opt/example-agent/up/x", 0644, "evil\n");
    } else if (strcmp(c, "symlink-inner") == 0) {
        symlink_("opt/example-agent/ok", "lib");
        file("opt/example-agent/ok/x", 0644, "through a link\n");
    } else if (strcmp(c, "hardlink-abs") == 0) {
        hardlink("opt/example-agent/passwd", "/etc/passwd");
    } else if (strcmp(c, "hardlink-up") == 0) {
        hardlink("opt/example-agent/x", "../x");
    } else if (strcmp(c, "chardev") == 0) {
        header("opt/example-agent/null", '3', 0666, 0, NULL, 1, 3);
    } else if (strcmp(c, "blockdev") == 0) {
        header("opt/example-agent/disk", '4', 0660, 0, NULL, 8, 0);
    } else if (strcmp(c, "fifo") == 0) {
        header("opt/example-agent/fifo", '6', 0644, 0, NULL, 0, 0);
    } else if (strcmp(c, "setuid") == 0) {
        file("opt/example-agent/lib/su", 04755, "#!/bin/sh\nexec /bin/sh\n");
    } else if (strcmp(c, "setgid") == 0) {
        file("opt/example-agent/lib/sg", 02755, "#!/bin/sh\nexec /bin/sh\n");
    } else if (strcmp(c, "short") == 0) {
        char data[1000];
        memset(data, 'A', sizeof(data));
        /* 2000: under the installer's limit (the stream's length), so what
         * stops it is the end of the stream, not the limit. */
        header("opt/example-agent/lib/big", '0', 0644, 2000, NULL, 0, 0);
        put(data, sizeof(data));
        /* No padding, no end blocks: the stream stops here. */
        if (out != stdout && fclose(out) != 0)
            die(argv[2]);
        return 0;
    } else if (strcmp(c, "outside-usr") == 0) {
        dir("usr/");
        dir("usr/bin/");
        file("usr/bin/x", 0755, "#!/bin/sh\necho evil\n");
    } else if (strcmp(c, "outside-cron") == 0) {
        dir("etc/");
        dir("etc/cron.d/");
        file("etc/cron.d/x", 0644, "* * * * * root /bin/true\n");
    } else if (strcmp(c, "pax-dotdot") == 0) {
        pax_record("path", "../../../../../canary");
        file("opt/example-agent/lib/innocent", 0644, "evil\n");
    } else if (strcmp(c, "gnu-long-abs") == 0) {
        static const char longname[] = "/etc/consign-rawtar-long";
        extended("././@LongLink", 'L', longname, sizeof(longname)); /* with its NUL */
        file("opt/example-agent/lib/innocent", 0644, "evil\n");
    }
    end();
    if (out != stdout && fclose(out) != 0)
        die(argv[2]);
    return 0;
}
