/*
 * sluice.runtime._jsonscan: a strict, native decoder of flat JSON objects into Arrow buffers.
 *
 * Called by sluice.runtime.jsonscan (never directly): decode(offsets, data, offset_width,
 * start, count, fields) reads `count` values of an Arrow binary array (its offsets buffer,
 * offset width 4 or 8, its data buffer, its array offset `start`), each one JSON object, and
 * returns (columns, unsure):
 *
 * - columns: one (validity, values, chars) tuple of bytes per field, holding only the rows
 *   this decoder is sure of, in input order; validity is None when the column has no null;
 *   chars is None except for strings (values then holds int32 offsets);
 * - unsure: the indices (int64, native order) of the values this decoder did not decode.
 *
 * The decoder is a strict subset of the record codec's rules: a value is "sure" only when
 * it is a complete, valid JSON object whose fields of the schema hold null, or a JSON string
 * for a string field (escapes decoded), an integer token in range for an int field, a number
 * for a float field (finite, no under- or overflow), true/false for a boolean field; keys
 * with escapes, a schema key given twice, NaN/Infinity, control characters, bad surrogates,
 * nesting deeper than 64 or anything else unusual make the value "unsure", and the caller
 * decodes those with the general reader, whose rules then apply. So every sure row is what
 * the general reader gives for it (checked by property tests against it).
 *
 * The scan releases the GIL; numbers are parsed in the C locale.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { K_STRING = 0, K_INT64 = 1, K_INT32 = 2, K_FLOAT64 = 3, K_FLOAT32 = 4, K_BOOL = 5 };
enum { T_MISSING = 0, T_NULL, T_STRING, T_INT, T_NUMBER, T_TRUE, T_FALSE, T_OTHER };

#define MAX_FIELDS 256
#define MAX_DEPTH 64
#define MAX_NUMBER 320

static locale_t c_locale;

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

typedef struct {
    const char *name;
    size_t len;
    int kind;
    buf_t validity; /* bitmap, built only once a null is seen */
    buf_t values;   /* fixed-width values, string offsets (int32) or the boolean bitmap */
    buf_t chars;    /* string data */
    int64_t rows;
    int64_t nulls;
} column_t;

typedef struct {
    const char *start, *end; /* the token (a string without its quotes) */
    int token;
    int escaped;
    union {
        int64_t i;
        double d;
        float f;
    } v;
} slot_t;

static int buf_grow(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) return 0;
    b->data = data;
    b->cap = cap;
    return 1;
}

static int buf_put(buf_t *b, const void *src, size_t n) {
    if (n == 0) return 1;
    if (!buf_grow(b, n)) return 0;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 1;
}

/* Set bit `row` of a bitmap buffer to `on`, growing it by whole bytes of zeros. */
static int bit_put(buf_t *b, int64_t row, int on) {
    size_t byte = (size_t)(row >> 3);
    if (byte >= b->len) {
        if (!buf_grow(b, byte + 1 - b->len)) return 0;
        memset(b->data + b->len, 0, byte + 1 - b->len);
        b->len = byte + 1;
    }
    if (on) b->data[byte] |= (char)(1u << (row & 7));
    return 1;
}

/* Byte classes: 1 = ends a plain run inside a string ('"', '\\' or a control character). */
static unsigned char string_stop[256];
static unsigned char is_ws[256];

/* The first byte at or after p that ends a plain run inside a string, or end. */
static inline const char *find_stop(const char *p, const char *end) {
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_min_epu8(v, control), v));
        int mask = _mm_movemask_epi8(hit);
        if (mask) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (p < end && !string_stop[(unsigned char)*p]) p++;
    return p;
}

static inline const char *skip_ws(const char *p, const char *end) {
    while (p < end && is_ws[(unsigned char)*p]) p++;
    return p;
}

static inline int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* Scan a string whose opening quote is at p[-1]; returns the closing quote or NULL when
 * the string is unsure (a control character, a bad escape, a lone surrogate, no end). */
static const char *scan_string(const char *p, const char *end, int *escaped) {
    *escaped = 0;
    for (;;) {
        p = find_stop(p, end);
        if (p >= end) return NULL;
        if (*p == '"') return p;
        if (*p != '\\') return NULL; /* a control character */
        *escaped = 1;
        if (p + 1 >= end) return NULL;
        char c = p[1];
        if (c == 'u') {
            unsigned cp;
            if (p + 6 > end || !hex4(p + 2, &cp)) return NULL;
            p += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return NULL;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned low;
                if (p + 6 > end || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &low)) return NULL;
                if (low < 0xDC00 || low > 0xDFFF) return NULL;
                p += 6;
            }
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                   c == 'r' || c == 't') {
            p += 2;
        } else {
            return NULL;
        }
    }
}

/* Scan a JSON number at p; returns its end or NULL; *integral says no fraction/exponent. */
static const char *scan_number(const char *p, const char *end, int *integral) {
    *integral = 1;
    if (p < end && *p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        *integral = 0;
        p++;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == digits) return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *integral = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == digits) return NULL;
    }
    return p;
}

static inline int literal(const char *p, const char *end, const char *word, size_t n) {
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

/* Scan any JSON value at p (after whitespace); returns its end or NULL (invalid/unsure).
 * Fills `slot` with the token's kind and span when given. */
static const char *scan_value(const char *p, const char *end, int depth, slot_t *slot) {
    if (p >= end) return NULL;
    char c = *p;
    if (c == '"') {
        int escaped;
        const char *close = scan_string(p + 1, end, &escaped);
        if (!close) return NULL;
        if (slot) {
            slot->token = T_STRING;
            slot->start = p + 1;
            slot->end = close;
            slot->escaped = escaped;
        }
        return close + 1;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int integral;
        const char *stop = scan_number(p, end, &integral);
        if (!stop) return NULL;
        if (slot) {
            slot->token = integral ? T_INT : T_NUMBER;
            slot->start = p;
            slot->end = stop;
        }
        return stop;
    }
    if (c == 't' || c == 'f' || c == 'n') {
        size_t n = c == 'f' ? 5 : 4;
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        if (!literal(p, end, word, n)) return NULL;
        if (slot) slot->token = c == 't' ? T_TRUE : c == 'f' ? T_FALSE : T_NULL;
        return p + n;
    }
    if (c != '{' && c != '[') return NULL;
    if (depth >= MAX_DEPTH) return NULL;
    if (slot) slot->token = T_OTHER;
    char close = c == '{' ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
        if (c == '{') {
            if (p >= end || *p != '"') return NULL;
            int escaped;
            const char *q = scan_string(p + 1, end, &escaped);
            if (!q) return NULL;
            p = skip_ws(q + 1, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
        }
        p = scan_value(p, end, depth + 1, NULL);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == close) return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

static inline int find_field(column_t *cols, int nfields, const char *key, size_t len, int hint) {
    if (hint < nfields && cols[hint].len == len && memcmp(cols[hint].name, key, len) == 0)
        return hint;
    for (int i = 0; i < nfields; i++)
        if (cols[i].len == len && memcmp(cols[i].name, key, len) == 0) return i;
    return -1;
}

static const double exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* A JSON number (valid, per scan_number) as a double in one exact IEEE operation when its
 * digits fit 2^53 and its decimal exponent is within 22 (Clinger's fast path: then the
 * quotient or product is correctly rounded, as strtod's result is); 0 when it does not. */
static int fast_double(const char *p, const char *end, double *out) {
    int negative = *p == '-';
    if (negative) p++;
    uint64_t m = 0;
    int digits = 0, scale = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (m || *p != '0') digits++;
        m = m * 10 + (uint64_t)(*p - '0');
        if (digits > 16) return 0;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            if (m || *p != '0') digits++;
            m = m * 10 + (uint64_t)(*p - '0');
            scale--;
            if (digits > 16) return 0;
        }
    }
    if (p < end) { /* an exponent */
        p++;
        int sign = 1, e = 0;
        if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
        for (; p < end; p++) {
            e = e * 10 + (*p - '0');
            if (e > 1000) return 0;
        }
        scale += sign * e;
    }
    if (m > ((uint64_t)1 << 53) || scale < -22 || scale > 22) return 0;
    double d = (double)m;
    d = scale < 0 ? d / exact_pow10[-scale] : d * exact_pow10[scale];
    *out = negative ? -d : d;
    return 1;
}

/* Convert the numbers of a scanned row in place; 0 when a value is unsure for its field. */
static int convert(column_t *cols, int nfields, slot_t *slots) {
    char text[MAX_NUMBER + 1];
    for (int i = 0; i < nfields; i++) {
        slot_t *s = &slots[i];
        int kind = cols[i].kind;
        int t = s->token;
        if (t == T_MISSING || t == T_NULL) continue;
        switch (kind) {
        case K_STRING:
            if (t != T_STRING) return 0;
            break;
        case K_BOOL:
            if (t != T_TRUE && t != T_FALSE) return 0;
            break;
        case K_INT64:
        case K_INT32: {
            if (t != T_INT) return 0;
            const char *p = s->start;
            int negative = *p == '-';
            if (negative) p++;
            uint64_t v = 0;
            for (; p < s->end; p++) {
                unsigned d = (unsigned)(*p - '0');
                if (v > (UINT64_MAX - d) / 10) return 0;
                v = v * 10 + d;
            }
            uint64_t limit = kind == K_INT64 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
            if (v > limit + (uint64_t)negative) return 0;
            s->v.i = negative ? (int64_t)(0 - v) : (int64_t)v;
            break;
        }
        case K_FLOAT64:
        case K_FLOAT32: {
            if (t != T_INT && t != T_NUMBER) return 0;
            if (kind == K_FLOAT64 && fast_double(s->start, s->end, &s->v.d)) break;
            size_t n = (size_t)(s->end - s->start);
            if (n > MAX_NUMBER) return 0;
            memcpy(text, s->start, n);
            text[n] = 0;
            char *stop;
            errno = 0;
            if (kind == K_FLOAT64) {
                double d = strtod_l(text, &stop, c_locale);
                if (errno || stop != text + n || !isfinite(d)) return 0;
                s->v.d = d;
            } else {
                float f = strtof_l(text, &stop, c_locale);
                if (errno || stop != text + n || !isfinite(f)) return 0;
                s->v.f = f;
            }
            break;
        }
        default:
            return 0;
        }
    }
    return 1;
}

static int put_utf8(buf_t *b, unsigned cp) {
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(b, out, n);
}

/* Append a scanned (valid) string's decoded text to `b`. */
static int put_unescaped(buf_t *b, const char *p, const char *end) {
    while (p < end) {
        const char *run = p;
        while (p < end && *p != '\\') p++;
        if (p > run && !buf_put(b, run, (size_t)(p - run))) return 0;
        if (p >= end) break;
        char c = p[1], out;
        if (c == 'u') {
            unsigned cp = 0, low = 0xDC00;
            hex4(p + 2, &cp);
            p += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                hex4(p + 2, &low);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            if (!put_utf8(b, cp)) return 0;
            continue;
        }
        switch (c) {
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        default: out = c; break;
        }
        if (!buf_put(b, &out, 1)) return 0;
        p += 2;
    }
    return 1;
}

/* Append one sure row; 0 on memory or int32-offset overflow (the whole call then fails). */
static int emit(column_t *cols, int nfields, slot_t *slots) {
    for (int i = 0; i < nfields; i++) {
        column_t *col = &cols[i];
        slot_t *s = &slots[i];
        int null = s->token == T_MISSING || s->token == T_NULL;
        int64_t row = col->rows++;
        if (null) {
            if (col->nulls++ == 0) {
                for (int64_t r = 0; r < row; r++)
                    if (!bit_put(&col->validity, r, 1)) return 0;
            }
            if (!bit_put(&col->validity, row, 0)) return 0;
        } else if (col->nulls && !bit_put(&col->validity, row, 1)) {
            return 0;
        }
        switch (col->kind) {
        case K_STRING: {
            if (!null) {
                if (s->escaped) {
                    if (!put_unescaped(&col->chars, s->start, s->end)) return 0;
                } else if (!buf_put(&col->chars, s->start, (size_t)(s->end - s->start))) {
                    return 0;
                }
            }
            if (col->chars.len > INT32_MAX) return 0;
            int32_t offset = (int32_t)col->chars.len;
            if (!buf_put(&col->values, &offset, 4)) return 0;
            break;
        }
        case K_INT64: {
            int64_t v = null ? 0 : s->v.i;
            if (!buf_put(&col->values, &v, 8)) return 0;
            break;
        }
        case K_INT32: {
            int32_t v = null ? 0 : (int32_t)s->v.i;
            if (!buf_put(&col->values, &v, 4)) return 0;
            break;
        }
        case K_FLOAT64: {
            double v = null ? 0.0 : s->v.d;
            if (!buf_put(&col->values, &v, 8)) return 0;
            break;
        }
        case K_FLOAT32: {
            float v = null ? 0.0f : s->v.f;
            if (!buf_put(&col->values, &v, 4)) return 0;
            break;
        }
        case K_BOOL:
            if (!bit_put(&col->values, row, !null && s->token == T_TRUE)) return 0;
            break;
        }
    }
    return 1;
}

/* Scan one value into `slots`; 1 when it is a sure row. */
static int scan_row(column_t *cols, int nfields, slot_t *slots, const char *p, const char *end) {
    for (int i = 0; i < nfields; i++) slots[i].token = T_MISSING;
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return 0;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return skip_ws(p + 1, end) == end && convert(cols, nfields, slots);
    int hint = 0;
    for (;;) {
        if (p >= end || *p != '"') return 0;
        int escaped;
        const char *close = scan_string(p + 1, end, &escaped);
        if (!close || escaped) return 0;
        int field = find_field(cols, nfields, p + 1, (size_t)(close - p - 1), hint);
        p = skip_ws(close + 1, end);
        if (p >= end || *p != ':') return 0;
        p = skip_ws(p + 1, end);
        if (field >= 0) {
            if (slots[field].token != T_MISSING) return 0; /* a schema key given twice */
            p = scan_value(p, end, 1, &slots[field]);
            hint = field + 1;
        } else {
            p = scan_value(p, end, 1, NULL);
        }
        if (!p) return 0;
        p = skip_ws(p, end);
        if (p >= end) return 0;
        if (*p == '}') break;
        if (*p != ',') return 0;
        p = skip_ws(p + 1, end);
    }
    return skip_ws(p + 1, end) == end && convert(cols, nfields, slots);
}

static PyObject *bytes_or_none(buf_t *b, int present) {
    if (!present) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
}

static PyObject *decode(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer offsets_view, data_view;
    int width;
    Py_ssize_t start, count;
    PyObject *fields;
    if (!PyArg_ParseTuple(args, "y*y*innO!", &offsets_view, &data_view, &width, &start, &count,
                          &PyList_Type, &fields))
        return NULL;
    PyObject *result = NULL, *columns = NULL;
    column_t *cols = NULL;
    slot_t *slots = NULL;
    buf_t unsure = {0};
    Py_ssize_t nfields = PyList_GET_SIZE(fields);
    int ok = 1;
    if ((width != 4 && width != 8) || start < 0 || count < 0 || nfields > MAX_FIELDS ||
        (start + count + 1) * (Py_ssize_t)width > offsets_view.len) {
        PyErr_SetString(PyExc_ValueError, "decode: bad offsets, width or field count");
        goto done;
    }
    cols = calloc((size_t)nfields + 1, sizeof(column_t));
    slots = calloc((size_t)nfields + 1, sizeof(slot_t));
    if (!cols || !slots) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < nfields; i++) {
        PyObject *item = PyList_GET_ITEM(fields, i);
        const char *name;
        Py_ssize_t len;
        int kind;
        if (!PyArg_ParseTuple(item, "y#i", &name, &len, &kind)) goto done;
        if (kind < K_STRING || kind > K_BOOL) {
            PyErr_SetString(PyExc_ValueError, "decode: unknown field kind");
            goto done;
        }
        cols[i].name = name;
        cols[i].len = (size_t)len;
        cols[i].kind = kind;
        if (kind == K_STRING && !buf_put(&cols[i].values, &(int32_t){0}, 4)) {
            PyErr_NoMemory();
            goto done;
        }
    }
    const char *data = data_view.buf;
    const unsigned char *raw = offsets_view.buf;
    Py_ssize_t data_len = data_view.len;
    int bad_offsets = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < count && ok; row++) {
        int64_t lo, hi;
        if (width == 4) {
            int32_t a, b;
            memcpy(&a, raw + (start + row) * 4, 4);
            memcpy(&b, raw + (start + row + 1) * 4, 4);
            lo = a;
            hi = b;
        } else {
            memcpy(&lo, raw + (start + row) * 8, 8);
            memcpy(&hi, raw + (start + row + 1) * 8, 8);
        }
        if (lo < 0 || hi < lo || hi > data_len) {
            bad_offsets = 1;
            ok = 0;
            break;
        }
        if (scan_row(cols, (int)nfields, slots, data + lo, data + hi)) {
            ok = emit(cols, (int)nfields, slots);
        } else {
            int64_t index = (int64_t)row;
            ok = buf_put(&unsure, &index, 8);
        }
    }
    Py_END_ALLOW_THREADS
    if (bad_offsets) {
        PyErr_SetString(PyExc_ValueError, "decode: an offset points outside the data");
        goto done;
    }
    if (!ok) {
        PyErr_SetString(PyExc_MemoryError, "decode: out of memory or a string column over 2 GiB");
        goto done;
    }
    columns = PyList_New(nfields);
    if (!columns) goto done;
    for (Py_ssize_t i = 0; i < nfields; i++) {
        column_t *col = &cols[i];
        PyObject *validity = bytes_or_none(&col->validity, col->nulls > 0);
        PyObject *values = bytes_or_none(&col->values, 1);
        PyObject *chars = bytes_or_none(&col->chars, col->kind == K_STRING);
        PyObject *tuple = validity && values && chars ? PyTuple_Pack(3, validity, values, chars) : NULL;
        Py_XDECREF(validity);
        Py_XDECREF(values);
        Py_XDECREF(chars);
        if (!tuple) goto done;
        PyList_SET_ITEM(columns, i, tuple);
    }
    PyObject *unsure_bytes = bytes_or_none(&unsure, 1);
    if (!unsure_bytes) goto done;
    result = PyTuple_Pack(2, columns, unsure_bytes);
    Py_DECREF(unsure_bytes);
done:
    Py_XDECREF(columns);
    if (cols) {
        for (Py_ssize_t i = 0; i < nfields; i++) {
            free(cols[i].validity.data);
            free(cols[i].values.data);
            free(cols[i].chars.data);
        }
    }
    free(cols);
    free(slots);
    free(unsure.data);
    PyBuffer_Release(&offsets_view);
    PyBuffer_Release(&data_view);
    return result;
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS,
     "decode(offsets, data, offset_width, start, count, fields) -> (columns, unsure)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_jsonscan", "Strict native decoder of flat JSON objects.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jsonscan(void) {
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c_locale) return PyErr_NoMemory();
    for (int c = 0; c < 0x20; c++) string_stop[c] = 1;
    string_stop['"'] = string_stop['\\'] = 1;
    is_ws[' '] = is_ws['\t'] = is_ws['\n'] = is_ws['\r'] = 1;
    return PyModule_Create(&module);
}
