/* coltype.c: maps a PostgreSQL column type (type OID and typmod, as a pgoutput Relation message carries
 * them) to the way cleave carries it in Avro (SPEC.md §5), and spells the type for humans and for
 * creating target tables. Pure; used by capture/relcache.c, schema/table_schema.c and schema/pgtext.c.
 *
 * The OIDs are those of pg_type's built-in rows, which PostgreSQL keeps stable across releases. */
#include "schema/coltype.h"

#include <stdio.h>

/* The first OID PostgreSQL hands to user objects (FirstNormalObjectId): types at or above it are user
 * enums, domains, composites and extension types, carried as their text form. */
#define PG_FIRST_USER_OID 16384u

/* PostgreSQL's VARHDRSZ: typmods of numeric, varchar and bpchar are offset by it. */
#define PG_VARHDRSZ 4

/* box: the one built-in type whose arrays use another delimiter than ',' */
#define PG_BOX_OID 603u

/* Highest precision numeric(p,s) accepts. */
#define PG_NUMERIC_MAX_PRECISION 1000

struct coltype_map {
	uint32_t oid;
	uint32_t array_oid;
	enum coltype_kind kind;
	const char *name; /* SQL spelling without modifier */
};

static const struct coltype_map coltype_maps[] = {
	{16, 1000, CT_BOOLEAN, "boolean"},
	{21, 1005, CT_INT, "smallint"},
	{23, 1007, CT_INT, "integer"},
	{20, 1016, CT_LONG, "bigint"},
	{700, 1021, CT_FLOAT, "real"},
	{701, 1022, CT_DOUBLE, "double precision"},
	{1700, 1231, CT_DECIMAL, "numeric"}, /* CT_NUMERIC without a usable typmod */
	{25, 1009, CT_STRING, "text"},
	{1043, 1015, CT_STRING, "varchar"},
	{1042, 1014, CT_STRING, "bpchar"}, /* "character(n)" with a typmod */
	{17, 1001, CT_BYTES, "bytea"},
	{1082, 1182, CT_DATE, "date"},
	{1083, 1183, CT_TIME, "time"},
	{1114, 1115, CT_TIMESTAMP, "timestamp"},
	{1184, 1185, CT_TIMESTAMPTZ, "timestamp with time zone"},
	{2950, 2951, CT_UUID, "uuid"},
	{114, 199, CT_JSON, "json"},
	{3802, 3807, CT_JSON, "jsonb"},
	/* built-in types carried as their text form (docs/types.md); their arrays are arrays of that text */
	{1186, 1187, CT_TEXT_FORM, "interval"},
	{1266, 1270, CT_TEXT_FORM, "time with time zone"},
	{869, 1041, CT_TEXT_FORM, "inet"},
	{650, 651, CT_TEXT_FORM, "cidr"},
	{829, 1040, CT_TEXT_FORM, "macaddr"},
	{774, 775, CT_TEXT_FORM, "macaddr8"},
	{790, 791, CT_TEXT_FORM, "money"},
	{1560, 1561, CT_TEXT_FORM, "bit"},
	{1562, 1563, CT_TEXT_FORM, "bit varying"},
	{142, 143, CT_TEXT_FORM, "xml"},
	{3614, 3643, CT_TEXT_FORM, "tsvector"},
	{3615, 3645, CT_TEXT_FORM, "tsquery"},
	{3904, 3905, CT_TEXT_FORM, "int4range"},
	{3926, 3927, CT_TEXT_FORM, "int8range"},
	{3906, 3907, CT_TEXT_FORM, "numrange"},
	{3912, 3913, CT_TEXT_FORM, "daterange"},
	{3908, 3909, CT_TEXT_FORM, "tsrange"},
	{3910, 3911, CT_TEXT_FORM, "tstzrange"},
	{4451, 6150, CT_TEXT_FORM, "int4multirange"},
	{4536, 6157, CT_TEXT_FORM, "int8multirange"},
	{4532, 6151, CT_TEXT_FORM, "nummultirange"},
	{4535, 6155, CT_TEXT_FORM, "datemultirange"},
	{4533, 6152, CT_TEXT_FORM, "tsmultirange"},
	{4534, 6153, CT_TEXT_FORM, "tstzmultirange"},
	{3220, 3221, CT_TEXT_FORM, "pg_lsn"},
	{600, 1017, CT_TEXT_FORM, "point"},
	{628, 629, CT_TEXT_FORM, "line"},
	{601, 1018, CT_TEXT_FORM, "lseg"},
	{603, 1020, CT_TEXT_FORM, "box"},
	{602, 1019, CT_TEXT_FORM, "path"},
	{604, 1027, CT_TEXT_FORM, "polygon"},
	{718, 719, CT_TEXT_FORM, "circle"},
	{18, 1002, CT_TEXT_FORM, "\"char\""},
	{19, 1003, CT_TEXT_FORM, "name"},
	{26, 1028, CT_TEXT_FORM, "oid"},
};

#define COLTYPE_NMAPS (sizeof coltype_maps / sizeof coltype_maps[0])

/* Finds the entry for a scalar OID or an array OID; *is_array tells which matched. */
static const struct coltype_map *coltype_lookup(uint32_t oid, bool *is_array)
{
	size_t i;

	for (i = 0; i < COLTYPE_NMAPS; i++) {
		if (coltype_maps[i].oid == oid) {
			*is_array = false;
			return &coltype_maps[i];
		}
		if (coltype_maps[i].array_oid == oid) {
			*is_array = true;
			return &coltype_maps[i];
		}
	}
	return NULL;
}

/* Splits a numeric typmod as PostgreSQL's numeric.c does: precision in bits 16..31 and the scale in the
 * low 11 bits, sign-extended (PostgreSQL 15 allows scales from -1000 to 1000). */
static void coltype_numeric_typmod(int32_t typmod, int *precision, int *scale)
{
	uint32_t t = (uint32_t)typmod - PG_VARHDRSZ;

	*precision = (int)((t >> 16) & 0xffff);
	*scale = (int)((t & 0x7ff) ^ 1024) - 1024;
}

/* Whether a numeric typmod can be an Avro decimal: the Avro spec wants 0 <= scale <= precision, so
 * numeric(3,5) and numeric(5,-2) travel as strings (CT_NUMERIC) like an unconstrained numeric. */
static bool coltype_numeric_is_decimal(int32_t typmod)
{
	int p, s;

	if (typmod < PG_VARHDRSZ)
		return false;
	coltype_numeric_typmod(typmod, &p, &s);
	return p >= 1 && p <= PG_NUMERIC_MAX_PRECISION && s >= 0 && s <= p;
}

void coltype_from_pg(uint32_t oid, int32_t typmod, struct coltype *out)
{
	const struct coltype_map *m;
	bool is_array = false;
	enum coltype_kind kind;

	out->precision = 0;
	out->scale = 0;
	out->maxlen = -1;
	out->pg_oid = oid;
	out->pg_typmod = typmod;

	m = coltype_lookup(oid, &is_array);
	if (!m) {
		out->kind = out->elem = CT_TEXT_FORM;
		out->known = oid >= PG_FIRST_USER_OID;
		return;
	}
	out->known = true;
	kind = m->kind;
	/* box[] separates its elements with ';', not ','; carried whole as its text */
	if (is_array && m->oid == PG_BOX_OID) {
		out->kind = out->elem = CT_TEXT_FORM;
		return;
	}
	if (kind == CT_DECIMAL) {
		if (coltype_numeric_is_decimal(typmod))
			coltype_numeric_typmod(typmod, &out->precision, &out->scale);
		else
			kind = CT_NUMERIC;
	}
	/* For an array column, pgoutput sends the element's typmod (varchar(40)[] has typmod 44). */
	if ((m->oid == 1043 || m->oid == 1042) && typmod >= PG_VARHDRSZ)
		out->maxlen = typmod - PG_VARHDRSZ;
	out->kind = is_array ? CT_ARRAY : kind;
	out->elem = kind;
}

void coltype_pg_name(const struct coltype *t, char *out, size_t outlen)
{
	const struct coltype_map *m;
	bool is_array = false;
	const char *arr;
	int32_t tm;

	if (!out || outlen == 0)
		return;
	if (!t) {
		snprintf(out, outlen, "(null)");
		return;
	}
	m = coltype_lookup(t->pg_oid, &is_array);
	if (!m) {
		snprintf(out, outlen, "oid %u", (unsigned)t->pg_oid);
		return;
	}
	arr = is_array ? "[]" : "";
	tm = t->pg_typmod;
	switch (m->oid) {
	case 1700:
		if (tm >= PG_VARHDRSZ) {
			int p, s;

			coltype_numeric_typmod(tm, &p, &s);
			snprintf(out, outlen, "numeric(%d,%d)%s", p, s, arr);
			return;
		}
		break;
	case 1043:
		if (tm >= PG_VARHDRSZ) {
			snprintf(out, outlen, "varchar(%ld)%s", (long)tm - PG_VARHDRSZ, arr);
			return;
		}
		break;
	case 1042:
		if (tm >= PG_VARHDRSZ) {
			snprintf(out, outlen, "character(%ld)%s", (long)tm - PG_VARHDRSZ, arr);
			return;
		}
		break;
	case 1083:
	case 1114:
		/* time(p) and timestamp(p): the typmod is the fractional-second precision itself */
		if (tm >= 0) {
			snprintf(out, outlen, "%s(%ld)%s", m->name, (long)tm, arr);
			return;
		}
		break;
	case 1184:
	case 1266:
		if (tm >= 0) {
			snprintf(out, outlen, "%s(%ld) with time zone%s", m->oid == 1184 ? "timestamp" : "time", (long)tm,
				 arr);
			return;
		}
		break;
	case 1560:
	case 1562:
		/* bit(n) and bit varying(n): the typmod is n itself */
		if (tm >= 0) {
			snprintf(out, outlen, "%s(%ld)%s", m->name, (long)tm, arr);
			return;
		}
		break;
	default:
		break;
	}
	snprintf(out, outlen, "%s%s", m->name, arr);
}

uint32_t coltype_elem_oid(uint32_t array_oid)
{
	for (size_t i = 0; i < COLTYPE_NMAPS; i++)
		if (coltype_maps[i].array_oid == array_oid)
			return coltype_maps[i].oid;
	return 0;
}

void coltype_int_range(const struct coltype *t, int64_t *lo, int64_t *hi)
{
	if (t->kind == CT_LONG) {
		*lo = INT64_MIN;
		*hi = INT64_MAX;
	} else if (t->pg_oid == 21 || t->pg_oid == 1005) { /* smallint, smallint[] */
		*lo = INT16_MIN;
		*hi = INT16_MAX;
	} else {
		*lo = INT32_MIN;
		*hi = INT32_MAX;
	}
}
