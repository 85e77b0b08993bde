/* SPDX-License-Identifier: Apache-2.0 */
/* The one return-code space (style.md §3.6). */
#ifndef SL_RC_H
#define SL_RC_H

enum sl_rc {
    SL_OK = 0,        /* continue */
    SL_DECLINED = -1, /* not applicable */
    SL_AGAIN = -2,    /* parked on an async event; the same callback resumes */
    SL_DONE = -3,     /* a response was produced; stop the phase */
    SL_ERROR = -4,    /* internal failure: 500 or close, fail closed */
    SL_ENOMEM = -5,   /* allocation failed: fail this request, never the process */
};

#endif
