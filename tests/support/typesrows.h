/* typesrows.h: rows 1..7 of the table of every SPEC.md §5 type (columns TYPES_COLS) that both target kinds
 * hold: typical, NULL everywhere, empty/zero, minimum and maximum values, a 1 MB text, tiny values. Shared by
 * the sink type tests and reconcile's no-false-drift test, so both check the same data. A string literal
 * ending with a comma: "INSERT INTO types (" TYPES_COLS ") VALUES" TYPES_ROWS_COMMON " (more rows)". */
#ifndef CLEAVE_TYPESROWS_H
#define CLEAVE_TYPESROWS_H

#define TYPES_COLS "id, b, i2, i4, i8, f4, f8, n12, n, t, vc, ch, by, d, tm, ts, tstz, u, j, jb, ia, ta"

#define TYPES_ROWS_COMMON \
	/* typical */ \
	" (1, true, 42, 123456, 1234567890123, 3.14, 2.718281828459045, 12345.678," \
	"  '3.14159265358979323846264338327950288419716939937510'," \
	"  E'h\\u00e9llo w\\u00f6rld \\u2713 \\U0001F600 tab\\t newline\\n quote '' backslash \\\\ end'," \
	"  'varchar ü', 'ab', '\\x00ff10', '2024-02-29', '12:34:56.789012', '2024-02-29 12:34:56.789012'," \
	"  '2024-02-29 12:34:56.789012+05:30', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'," \
	"  '{\"k\": [1, 2.5, \"x\"], \"n\": null, \"s\": \"\\u00e9\"}', '{\"b\": {\"c\": true}, \"a\": 1}'," \
	"  '{1,NULL,3}', '{\"a\",\"b c\",NULL,\"d\\\"e\",\"\"}')," \
	/* NULL everywhere */ \
	" (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL)," \
	/* empty and zero values */ \
	" (3, false, 0, 0, 0, 0, 0, 0, 0, '', '', '', '\\x', '2000-01-01', '00:00:00', '2000-01-01 00:00:00'," \
	"  '2000-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000000', '\"\"', '{}', '{}', '{\"\"}')," \
	/* minimum values */ \
	" (4, false, -32768, -2147483648, -9223372036854775808, -3.4028235e38, -1.7976931348623157e308," \
	"  -999999999.999, '-123456789012345678901234567890.123456789012345678901234567890', 'a', 'b', 'c'," \
	"  '\\x00', '1000-01-01', '00:00:00', '1000-01-01 00:00:00', '1000-01-01 00:00:00+00'," \
	"  '00000000-0000-0000-0000-000000000001', '[]', '[]', '{-2147483648,NULL}', '{NULL}')," \
	/* maximum values */ \
	" (5, true, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308, 999999999.999," \
	"  '1e130', 'z', '12345678901234567890', 'abcde', '\\xffffffff', '9999-12-31', '23:59:59.999999'," \
	"  '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00', 'ffffffff-ffff-ffff-ffff-ffffffffffff'," \
	"  '12345678901234567890', '1e300', '{2147483647}', '{\"ü€😀\"}')," \
	/* a 1 MB text (1048576 bytes) and half a MB of bytea */ \
	" (6, true, 6, 6, 6, 6, 6, 6, 6, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 32768) g), 'big'," \
	"  'big', (SELECT decode(string_agg(md5(g::text), ''), 'hex') FROM generate_series(1, 32768) g)," \
	"  '2024-01-01', '01:02:03', '2024-01-01 01:02:03', '2024-01-01 01:02:03+00'," \
	"  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a16', '{}', '{}', '{}', '{}')," \
	/* tiny values: denormal floats, the smallest scale step, 24:00:00 */ \
	" (7, true, -1, -1, -1, 1.4e-45, 4.9406564584124654e-324, 0.001, '0.000000000000000000000000000000000001'," \
	"  ' ', ' x ', ' ', '\\x20', '1970-01-01', '24:00:00', '1970-01-01 00:00:00.000001'," \
	"  '1969-12-31 23:59:59.999999+00', '12345678-1234-1234-1234-123456789abc', 'null', '0', '{0}', '{\" \"}'),"

#endif
