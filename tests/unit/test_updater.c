/* The updater's staged rollout: buckets are stable, spread evenly, and a
 * rollout percentage takes that share of a population of agents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consign/updater.h"

/* Known answers, from an independent computation (Python's hashlib):
 * int.from_bytes(sha256(b"NAME:ID").digest()[:4], "big") % 100. */
static void
test_known_buckets(void **state)
{
    (void)state;
    assert_int_equal(consign_updater_bucket("example-agent", "00000000000000000000000000000000"),
                     82);
    assert_int_equal(consign_updater_bucket("example-agent", "0123456789abcdef0123456789abcdef"),
                     15);
    /* The product is part of it: one agent id, two products, two places. */
    assert_int_not_equal(consign_updater_bucket("other-agent", "0123456789abcdef0123456789abcdef"),
                         15);
}

/* 1,000 agents with random ids (as installs make them: 128 bits, hex). */
static void
make_ids(char ids[][33], size_t n, unsigned seed)
{
    size_t i, k;

    srand(seed);
    for (i = 0; i < n; i++) {
        for (k = 0; k < 16; k++)
            snprintf(ids[i] + 2 * k, 3, "%02x", (unsigned)(rand() & 0xff));
    }
}

static void
test_population(void **state)
{
    static char ids[1000][33];
    unsigned seeds[] = {1, 2, 3, 1234, 99991};
    size_t s, i;

    (void)state;
    for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t at20 = 0, at100 = 0, at0 = 0, kept = 0;
        make_ids(ids, 1000, seeds[s]);
        for (i = 0; i < 1000; i++) {
            int in20 = consign_updater_in_rollout("example-agent", ids[i], 20);
            at20 += (size_t)in20;
            at0 += (size_t)consign_updater_in_rollout("example-agent", ids[i], 0);
            at100 += (size_t)consign_updater_in_rollout("example-agent", ids[i], 100);
            /* Raising the percentage never drops an agent already in. */
            if (in20 && consign_updater_in_rollout("example-agent", ids[i], 50))
                kept++;
            /* Stable: the same answer every time. */
            assert_int_equal(consign_updater_bucket("example-agent", ids[i]),
                             consign_updater_bucket("example-agent", ids[i]));
        }
        print_message("seed %u: %zu of 1000 at 20%%\n", seeds[s], at20);
        assert_in_range(at20, 170, 230); /* 20% +- 3% */
        assert_int_equal(at0, 0);
        assert_int_equal(at100, 1000); /* 100%: the rest follow */
        assert_int_equal(kept, at20);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_buckets),
        cmocka_unit_test(test_population),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
