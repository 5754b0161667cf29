/*
 * test_pii.c — PII detection from column names, one row per name, including
 * names that must not match (the rule is documented in src/catalog/pii.c
 * and docs/catalog.md), and the schema fingerprint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"

#include <string.h>

#define P LH_SENS_PII
#define F LH_SENS_FINANCIAL
#define S LH_SENS_SENSITIVE
#define I LH_SENS_INTERNAL
#define N LH_SENS_NONE

static const struct {
    const char *name;
    enum lh_sensitivity want;
} cases[] = {
    /* personal data */
    {"email", P},
    {"Email", P},
    {"e_mail", P}, /* adjacent tokens join: "e" + "mail" */
    {"email_address", P},
    {"emailAddress", P},
    {"user_email", P},
    {"useremail", P},
    {"contact_email_2", P},
    {"phone", P},
    {"phone_number", P},
    {"homePhone", P},
    {"mobile", P},
    {"mobile_number", P},
    {"telephone", P},
    {"fax", P},
    {"ssn", P},
    {"SSN", P},
    {"social_security_number", P},
    {"national_id", P},
    {"nationalId", P},
    {"passport_number", P},
    {"drivers_license", P},
    {"first_name", P},
    {"firstName", P},
    {"FIRSTNAME", P},
    {"last_name", P},
    {"lastname", P},
    {"full_name", P},
    {"surname", P},
    {"given_name", P},
    {"middle_name", P},
    {"customer_name", P},
    {"username", P},
    {"user_name", P},
    {"address", P},
    {"billing_address", P},
    {"shipping_address_line1", P},
    {"street", P},
    {"street_address", P},
    {"zip", P},
    {"zip_code", P},
    {"zipcode", P},
    {"postcode", P},
    {"postal_code", P},
    {"birth_date", P},
    {"birthdate", P},
    {"date_of_birth", P},
    {"dob", P},
    {"birthday", P},
    {"ip", P},
    {"ip_address", P},
    {"ipAddress", P},
    {"client_ipv4", P},
    {"mac_address", P},
    {"latitude", P},
    /* financial */
    {"credit_card", F},
    {"credit_card_number", F},
    {"creditCardNumber", F},
    {"card_number", F},
    {"cvv", F},
    {"iban", F},
    {"account_number", F},
    {"bank_account", F},
    {"routing_number", F},
    {"salary", F},
    {"annual_salary", F},
    {"income", F},
    /* sensitive */
    {"password", S},
    {"password_hash", N}, /* a hash column: meta word last */
    {"api_key", S},
    {"gender", S},
    {"ethnicity", S},
    {"religion", S},
    {"diagnosis", S},
    {"medical_history", S},
    /* internal */
    {"internal_notes", I},
    {"notes", I},
    {"unit_cost", I},
    {"profit", I},
    /* must not match */
    {"id", N},
    {"name", N},
    {"product_name", N},
    {"city", N},
    {"country", N},
    {"created_at", N},
    {"order_total", N},
    {"quantity", N},
    {"description", N},
    {"shipping_method", N},
    {"tip_amount", N},
    {"zipper_color", N},
    {"ship_date", N},
    {"username_count", N},
    {"zip_code_format_id", N},
    {"email_verified", N},
    {"is_email_valid", N},
    {"has_phone", N},
    {"num_phones", N},
    {"phone_type", N},
    {"address_id", N},
    {"email_template", N},
    {"mobile_app_version", N},
    {"customer_id", N},
    {"ip_count", N},
    {"postcode_format", N},
    {"tokenizer", N},
    {"racetrack", N},
    {"", N},
};

static void test_pii_table(void **state)
{
    (void)state;
    size_t n = sizeof cases / sizeof cases[0];
    assert_true(n >= 60);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        enum lh_sensitivity got = lh_catalog_pii_detect(cases[i].name);
        if (got != cases[i].want && ++bad)
            print_error("'%s': got %s, want %s\n", cases[i].name,
                        lh_sensitivity_str(got) ? lh_sensitivity_str(got) : "none",
                        lh_sensitivity_str(cases[i].want) ? lh_sensitivity_str(cases[i].want)
                                                          : "none");
    }
    assert_int_equal(bad, 0);
}

static void test_sensitivity_names(void **state)
{
    (void)state;
    enum lh_sensitivity s;
    assert_true(lh_sensitivity_parse("pii", &s) && s == P);
    assert_true(lh_sensitivity_parse("financial", &s) && s == F);
    assert_true(lh_sensitivity_parse("none", &s) && s == N);
    assert_false(lh_sensitivity_parse("secret", &s));
    assert_null(lh_sensitivity_str(N));
    assert_true(P > F && F > S && S > I && I > N);
}

static void test_fingerprint(void **state)
{
    (void)state;
    struct lh_catalog_column a[] = {{.name = "id", .data_type = "Int64"},
                                    {.name = "email", .data_type = "Utf8", .nullable = true}};
    struct lh_catalog_column b[] = {{.name = "email", .data_type = "Utf8", .nullable = true},
                                    {.name = "id", .data_type = "Int64"}};
    struct lh_catalog_column c[] = {{.name = "id", .data_type = "Int64"},
                                    {.name = "email", .data_type = "Utf8", .nullable = false}};
    struct lh_catalog_column d[] = {{.name = "id", .data_type = "Int32"},
                                    {.name = "email", .data_type = "Utf8", .nullable = true}};
    /* no ambiguity between name and type boundaries */
    struct lh_catalog_column e1[] = {{.name = "ab", .data_type = "c"}};
    struct lh_catalog_column e2[] = {{.name = "a", .data_type = "bc"}};
    char fa[65], fa2[65], fb[65], fc[65], fd[65], f1[65], f2[65], f0[65];
    lh_catalog_schema_fingerprint(a, 2, fa);
    lh_catalog_schema_fingerprint(a, 2, fa2);
    lh_catalog_schema_fingerprint(b, 2, fb);
    lh_catalog_schema_fingerprint(c, 2, fc);
    lh_catalog_schema_fingerprint(d, 2, fd);
    lh_catalog_schema_fingerprint(e1, 1, f1);
    lh_catalog_schema_fingerprint(e2, 1, f2);
    lh_catalog_schema_fingerprint(NULL, 0, f0);
    assert_int_equal(strlen(fa), 64);
    assert_string_equal(fa, fa2);
    assert_string_not_equal(fa, fb);
    assert_string_not_equal(fa, fc);
    assert_string_not_equal(fa, fd);
    assert_string_not_equal(f1, f2);
    assert_string_equal(f0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pii_table),
        cmocka_unit_test(test_sensitivity_names),
        cmocka_unit_test(test_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
