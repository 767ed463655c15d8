/* fingerprint.h: CRC-64-AVRO (the Rabin fingerprint of the Avro spec, "Schema Fingerprints"). */
#ifndef CLEAVE_FINGERPRINT_H
#define CLEAVE_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

uint64_t fingerprint_crc64_avro(const void *p, size_t n);

#endif
