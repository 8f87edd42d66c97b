/* Symbol visibility of the public API: libtide is built with
 * -fvisibility=hidden and exports only declarations marked TIDE_API. */
#ifndef TIDE_EXPORT_H
#define TIDE_EXPORT_H
#if defined(__GNUC__)
#define TIDE_API __attribute__((visibility("default")))
#else
#define TIDE_API
#endif
#endif
