/* SPDX-License-Identifier: Apache-2.0 */
/* Sluice's version, used in Server/Via headers and `sluice version`. */
#ifndef SL_CORE_VERSION_H
#define SL_CORE_VERSION_H

#define SL_VERSION "0.1.0"
#define SL_SERVER_TOKEN "sluice/" SL_VERSION

#endif
