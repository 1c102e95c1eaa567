/*
 * sluice.pipeline._strcut: cut each string of an Arrow string array at the first `count`
 * occurrences of a separator, in one pass.
 *
 * Called by sluice.pipeline.strcut (never directly): cut(offsets, data, validity, start,
 * length, separator, count) reads `length` rows of an Arrow `string` array (int32 offsets,
 * its data buffer, its validity bitmap or None, its array offset `start`) and returns
 * count + 1 arrays as (validity, offsets, chars) tuples of bytes (validity None when the
 * array has no null): part m of each row for m < count, then the rest of the row after the
 * count-th separator. A part a row does not have (fewer separators) is null, as are all the
 * parts of a null row; this is exactly item m of `split_pattern(strings, separator,
 * max_splits=count)` (checked by property tests against it). The GIL is released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

typedef struct {
    buf_t validity, offsets, chars;
    int64_t nulls;
} part_t;

static int buf_put(buf_t *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) return 0;
        b->data = data;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
    return 1;
}

/* Append one row (a string, or null when text is NULL) to a part; 0 when out of memory or
 * over the 2 GiB of int32 offsets. */
static int append(part_t *part, int64_t row, const char *text, size_t n) {
    if (!text) {
        if (part->nulls++ == 0) {
            size_t bytes = (size_t)(row >> 3) + 1;
            char ones = (char)0xFF;
            for (size_t i = part->validity.len; i < bytes; i++)
                if (!buf_put(&part->validity, &ones, 1)) return 0;
        }
        n = 0;
    }
    if (part->nulls) {
        size_t byte = (size_t)(row >> 3);
        char zero = 0;
        while (part->validity.len <= byte)
            if (!buf_put(&part->validity, &zero, 1)) return 0;
        unsigned char bit = (unsigned char)(1u << (row & 7));
        if (text) part->validity.data[byte] |= (char)bit;
        else part->validity.data[byte] &= (char)~bit;
    }
    if (n && !buf_put(&part->chars, text, n)) return 0;
    if (part->chars.len > INT32_MAX) return 0;
    int32_t end = (int32_t)part->chars.len;
    return buf_put(&part->offsets, &end, 4);
}

static const char *find(const char *p, const char *end, const char *sep, size_t n) {
    if ((size_t)(end - p) < n) return NULL;
    if (n == 1) return memchr(p, sep[0], (size_t)(end - p));
    return memmem(p, (size_t)(end - p), sep, n);
}

static PyObject *cut(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer offsets_view, data_view, sep_view;
    PyObject *validity_obj;
    Py_ssize_t start, length, count;
    if (!PyArg_ParseTuple(args, "y*y*Onny*n", &offsets_view, &data_view, &validity_obj, &start,
                          &length, &sep_view, &count))
        return NULL;
    PyObject *result = NULL;
    Py_buffer validity_view = {0};
    int have_validity = 0;
    part_t *parts = NULL;
    if (validity_obj != Py_None) {
        if (PyObject_GetBuffer(validity_obj, &validity_view, PyBUF_SIMPLE) < 0) goto done;
        have_validity = 1;
    }
    if (start < 0 || length < 0 || count < 1 || count > 1024 || sep_view.len < 1 ||
        (start + length + 1) * 4 > offsets_view.len ||
        (have_validity && (start + length + 7) / 8 > validity_view.len)) {
        PyErr_SetString(PyExc_ValueError, "cut: bad offsets, validity, separator or count");
        goto done;
    }
    parts = calloc((size_t)count + 1, sizeof(part_t));
    if (!parts) {
        PyErr_NoMemory();
        goto done;
    }
    int ok = 1, bad_offsets = 0;
    const unsigned char *bits = validity_view.buf;
    const char *data = data_view.buf, *sep = sep_view.buf;
    size_t sep_len = (size_t)sep_view.len;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t m = 0; m <= count && ok; m++) ok = buf_put(&parts[m].offsets, &(int32_t){0}, 4);
    for (Py_ssize_t row = 0; row < length && ok; row++) {
        Py_ssize_t at = start + row;
        int32_t lo, hi;
        memcpy(&lo, (const char *)offsets_view.buf + at * 4, 4);
        memcpy(&hi, (const char *)offsets_view.buf + (at + 1) * 4, 4);
        if (lo < 0 || hi < lo || hi > data_view.len) {
            bad_offsets = 1;
            ok = 0;
            break;
        }
        int valid = !have_validity || ((bits[at >> 3] >> (at & 7)) & 1);
        const char *p = data + lo, *end = data + hi;
        Py_ssize_t m = 0;
        if (valid) {
            for (; m < count; m++) {
                const char *hit = find(p, end, sep, sep_len);
                if (!hit) break;
                ok = ok && append(&parts[m], row, p, (size_t)(hit - p));
                p = hit + sep_len;
            }
            if (m < count) { /* the row's last part, then nulls */
                ok = ok && append(&parts[m], row, p, (size_t)(end - p));
                m++;
            } else {
                ok = ok && append(&parts[count], row, p, (size_t)(end - p));
                m = count + 1;
            }
        }
        for (; m <= count && ok; m++) ok = append(&parts[m], row, NULL, 0);
    }
    Py_END_ALLOW_THREADS
    if (bad_offsets) {
        PyErr_SetString(PyExc_ValueError, "cut: an offset points outside the data");
        goto done;
    }
    if (!ok) {
        PyErr_SetString(PyExc_MemoryError, "cut: out of memory or a part over 2 GiB");
        goto done;
    }
    result = PyList_New(count + 1);
    if (!result) goto done;
    for (Py_ssize_t m = 0; m <= count; m++) {
        part_t *part = &parts[m];
        PyObject *validity = part->nulls ? PyBytes_FromStringAndSize(part->validity.data,
                                                                     (Py_ssize_t)part->validity.len)
                                         : (Py_INCREF(Py_None), Py_None);
        PyObject *offsets = PyBytes_FromStringAndSize(part->offsets.data, (Py_ssize_t)part->offsets.len);
        PyObject *chars = PyBytes_FromStringAndSize(part->chars.data ? part->chars.data : "",
                                                    (Py_ssize_t)part->chars.len);
        PyObject *tuple = validity && offsets && chars ? PyTuple_Pack(3, validity, offsets, chars) : NULL;
        Py_XDECREF(validity);
        Py_XDECREF(offsets);
        Py_XDECREF(chars);
        if (!tuple) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, m, tuple);
    }
done:
    if (parts) {
        for (Py_ssize_t m = 0; m <= count; m++) {
            free(parts[m].validity.data);
            free(parts[m].offsets.data);
            free(parts[m].chars.data);
        }
        free(parts);
    }
    if (have_validity) PyBuffer_Release(&validity_view);
    PyBuffer_Release(&offsets_view);
    PyBuffer_Release(&data_view);
    PyBuffer_Release(&sep_view);
    return result;
}

static PyMethodDef methods[] = {
    {"cut", cut, METH_VARARGS,
     "cut(offsets, data, validity, start, length, separator, count) -> parts"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_strcut", "Cut strings at the first occurrences of a separator.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__strcut(void) { return PyModule_Create(&module); }
