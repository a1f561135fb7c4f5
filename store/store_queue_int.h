/* Private to the SQLite backend: the outbound queue's tables, applied by
 * the migration framework (store_schema.c). */
#ifndef POSTLITE_STORE_QUEUE_INT_H
#define POSTLITE_STORE_QUEUE_INT_H

extern const char store_queue_schema[];

#endif
