"""A tiny GeoLite2-City-format .mmdb, written by mmdb-writer, for the travel signals' tests."""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# (network, country, city, latitude, longitude): documentation and well-known public ranges.
PLACES = [
    ("81.2.69.0/24", "GB", "London", 51.5142, -0.0931),
    ("89.160.20.0/24", "SE", "Linköping", 58.4167, 15.6167),
    ("175.16.199.0/24", "CN", "Changchun", 43.88, 125.3228),
    ("216.160.83.0/24", "US", "Milton", 47.2513, -122.3149),
    ("2a02:cf40::/32", "NO", "Oslo", 59.9127, 10.7461),
    ("81.2.70.0/24", "GB", "Croydon", 51.3762, -0.0982),
]


def city_record(country: str, city: str, latitude: float, longitude: float) -> dict:
    return {
        "city": {"names": {"en": city}},
        "country": {"iso_code": country, "names": {"en": country}},
        "location": {"latitude": latitude, "longitude": longitude, "accuracy_radius": 20},
    }


def write_city_mmdb(path: Path, places=PLACES) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City",
                        languages=["en"], description="Tollgate test fixture")
    for network, country, city, latitude, longitude in places:
        writer.insert_network(IPSet([network]), city_record(country, city, latitude, longitude))
    writer.to_db_file(str(path))
    return path
