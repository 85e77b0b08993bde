/* SPDX-License-Identifier: Apache-2.0 */
/* Strict HTTP/1.1 message-head parser and chunked-body decoder (RFC 9112; hardening.md §1-3).
 * Zero-copy: every sl_str in the results points into the caller's buffer, which must outlive them.
 * The parsers never allocate, never write to the input, and never read past <len>. They may be
 * called again with the same buffer grown by newly received bytes (incomplete → 0). Thread-safe (no
 * state). */
#ifndef SL_HTTP_H1_H
#define SL_HTTP_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sluice/str.h"

/* Limits, each enforced exactly: a value of N passes, N+1 fails. */
struct sl_h1_limits {
    size_t max_request_line; /* bytes of the request line without CRLF; over → 414 */
    size_t max_header_line;  /* bytes of one header line without CRLF; over → 431 */
    size_t max_header_bytes; /* bytes of the whole head including CRLFs; over → 431 */
    size_t max_headers;      /* header fields; over → 431 */
};

/* Defaults: nginx's large_client_header_buffers (8k) for a line, 64 KiB in all, 100 headers (Kong's
 * lua_max_req_headers). */
#define SL_H1_DEFAULT_MAX_REQUEST_LINE 8192
#define SL_H1_DEFAULT_MAX_HEADER_LINE 8192
#define SL_H1_DEFAULT_MAX_HEADER_BYTES 65536
#define SL_H1_DEFAULT_MAX_HEADERS 100

/* Initialiser with the defaults above: struct sl_h1_limits lim = SL_H1_LIMITS_DEFAULT; */
#define SL_H1_LIMITS_DEFAULT                                                                       \
    {                                                                                              \
        SL_H1_DEFAULT_MAX_REQUEST_LINE, SL_H1_DEFAULT_MAX_HEADER_LINE,                             \
            SL_H1_DEFAULT_MAX_HEADER_BYTES, SL_H1_DEFAULT_MAX_HEADERS                              \
    }

/* Chunked decoder bounds: a chunk-size line (hex digits and extensions, without CRLF) and the
 * trailer section (every byte after the last chunk's CRLF, the final CRLF included). Over either →
 * -400. */
#define SL_H1_CHUNK_LINE_MAX 4096
#define SL_H1_TRAILER_MAX 8192

enum sl_h1_body {
    SL_H1_BODY_NONE = 0,    /* no body (no CL/TE, CL: 0, HEAD/204/304/1xx responses) */
    SL_H1_BODY_LENGTH,      /* Content-Length bytes follow */
    SL_H1_BODY_CHUNKED,     /* chunked coding follows; decode with sl_h1_chunked_decode */
    SL_H1_BODY_UNTIL_CLOSE, /* responses only: body ends when the upstream closes */
    SL_H1_BODY_MAX
};

struct sl_h1_request {
    struct sl_str method; /* A-Z, '_' and '-' only (nginx's set), case-sensitive */
    struct sl_str target; /* request-target as sent */
    struct sl_str path;   /* origin-form path (absolute-form: the path part; "*" for OPTIONS *) */
    struct sl_str query;  /* after '?', without it; empty when absent */
    bool has_query;       /* a '?' was present (Kong keeps a trailing '?') */
    int minor;            /* HTTP/1.<minor>: 0 or 1 */
    struct sl_header *headers; /* the caller's array, <nheaders> filled */
    size_t nheaders;
    struct sl_str host; /* Host header value (or absolute-form authority); empty if none (1.0) */
    enum sl_h1_body body;
    uint64_t content_length; /* valid when body == SL_H1_BODY_LENGTH */
    bool keep_alive;      /* after this request: 1.1 unless "close"; 1.0 only with "keep-alive" */
    bool expect_continue; /* Expect: 100-continue */
    bool upgrade;         /* Connection has the "upgrade" token and an Upgrade header is present */
    struct sl_str upgrade_proto; /* Upgrade header value */
    size_t head_len;             /* bytes of the head, including the final CRLF CRLF */
};

struct sl_h1_response {
    int status; /* 100..999 */
    struct sl_str reason;
    int minor;
    struct sl_header *headers;
    size_t nheaders;
    enum sl_h1_body body;
    /* The Content-Length value whenever the head has one (has_content_length), also when no body
     * follows (HEAD, 304: it describes the entity); the body length when body == LENGTH. */
    uint64_t content_length;
    bool has_content_length;
    bool keep_alive; /* the upstream connection may be reused after the body */
    /* A response without a body (to HEAD, 1xx, 204, 304) whose head still announced one (chunked,
     * or a Content-Length above 0). keep_alive is then false for a 1xx or 204 (a protocol
     * violation); for HEAD and 304 it is as usual, and the proxy rests the connection first. */
    bool body_announced;
    bool upgrade; /* 101 with Upgrade */
    size_t head_len;
};

/* Parses a request head from <buf,len> into <req>, filling up to <max_hdrs> of <hdrs> (<lim> NULL
 * means the defaults). Returns the head length (> 0) when complete, 0 when more bytes are needed
 * (and the limits are not yet exceeded), or a negative HTTP status to answer with before closing:
 * -400 (malformed, smuggling attempt, bad Host, bad Content-Length, ...), -405 (CONNECT or TRACE,
 * refused as nginx and so Kong do), -414 (request line too long), -431 (header line, head size,
 * header count over the limit or over <max_hdrs>), -501 (unknown transfer coding), -505 (HTTP
 * version). Limits and syntax errors are reported as soon as the bytes that break them are in
 * <buf>: once a prefix of a stream gives an error, every longer prefix gives the same error. <req>
 * is meaningful only when the return value is > 0. docs/internals/http1-parser.md lists every
 * rejection. */
int sl_h1_parse_request(const char *buf, size_t len, const struct sl_h1_limits *lim,
                        struct sl_h1_request *req, struct sl_header *hdrs, size_t max_hdrs);

/* Parses an upstream response head. <request_method_head> decides, with the status, whether a body
 * follows (RFC 9112 §6.3; CONNECT is never forwarded, see above). Returns as sl_h1_parse_request;
 * any error, a limit included, is -502 (an invalid response: TE+CL, duplicate or malformed CL, a
 * coding other than exactly "chunked", bare CR, obs-fold, 101 without Upgrade, ...). Unlike a
 * request, a line may end with a bare LF (RFC 9112 §2.2; nginx accepts them). The status line is
 * bounded by <lim>->max_header_line. 1xx responses other than 101 are reported like any other (the
 * caller skips them). */
int sl_h1_parse_response(const char *buf, size_t len, const struct sl_h1_limits *lim,
                         bool request_method_head, struct sl_h1_response *res,
                         struct sl_header *hdrs, size_t max_hdrs);

/* Cheap guard for a caller that re-parses a growing buffer (the parsers keep no state, so parsing
 * after every read is quadratic for a client that sends a byte at a time). <prev_len> is a length
 * for which sl_h1_parse_request (or _response, with <response>) returned 0, or for which this
 * function returned true. Returns true when the bytes added since cannot have completed the head
 * nor made a line or the head too long: they hold no LF, the current line is within its limit and
 * <len> is below max_header_bytes. The caller may then skip the parse and wait for more bytes; an
 * error in those bytes (syntax, or one header too many) is reported, with the same status, by the
 * parse that follows the next LF or line limit. Costs O(len - prev_len) plus a bounded backwards
 * search for the line start. */
bool sl_h1_head_pending(const char *buf, size_t len, size_t prev_len,
                        const struct sl_h1_limits *lim, bool response);

/* Incremental chunked-body decoder. Zero-initialise before the first call. */
struct sl_h1_chunked {
    int state;            /* private */
    uint64_t remaining;   /* private: bytes left in the current chunk */
    size_t line_bytes;    /* private: bytes of the current size/trailer line */
    size_t trailer_bytes; /* private: bytes of trailers so far (bounded) */
    bool done;            /* the last chunk and the trailer section were consumed */
    /* Set before the first call to decode an upstream response body (false, the zero value, for a
     * request body): a bare LF then ends any framing line, as a CRLF does, and SP/HTAB may end
     * a chunk-size line ("5 \r\n"), as nginx reads them. Nothing else is loosened. */
    bool response;
};

/* Consumes bytes from <buf,len>. Sets <*data> to the next run of body data found in the consumed
 * bytes (a view into <buf>; len 0 when none) and returns the number of bytes consumed (stop there:
 * call again with the rest). Returns 0 only when <len> is 0 or done. Returns -400 on any syntax
 * error (non-hex size, size over 16 hex digits, bare CR, bare LF unless <st>->response, NUL or
 * CR/LF in extensions, missing CRLF after data, trailer section over SL_H1_TRAILER_MAX or
 * malformed, size line over SL_H1_CHUNK_LINE_MAX), and again on every later call. Trailers are
 * validated and discarded. When <done> becomes true the returned count ends exactly after the final
 * CRLF: later bytes belong to the next message. */
ssize_t sl_h1_chunked_decode(struct sl_h1_chunked *st, const char *buf, size_t len,
                             struct sl_str *data);

/* The data bytes the current chunk still announces: its declared size less what was consumed of
 * it, 0 between chunks. While the size line is being read it is the value of the digits so far, a
 * lower bound of the final size. Lets a caller refuse a body whose declared size is over a limit
 * as soon as the size line says so (nginx: 413 on the size), before those bytes arrive. */
uint64_t sl_h1_chunked_announced(const struct sl_h1_chunked *st);

/* Finds a header by case-insensitive name. NULL if absent. */
const struct sl_header *sl_h1_find_header(const struct sl_header *hdrs, size_t n, const char *name);

/* True when the comma-separated <list> contains <token> (case-insensitive, OWS ignored). */
bool sl_http_token_list_has(struct sl_str list, const char *token);

#endif
