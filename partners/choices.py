from django.db import models


class PartnerKind(models.TextChoices):
    STATE = "state", "State"
    REGIONAL_ORG = "regional_org", "Regional organization"
    INTERNATIONAL_ORG = "international_org", "International organization"
    CIVIL_SOCIETY = "civil_society", "Civil society"

    @classmethod
    def organizations(cls):
        return [cls.REGIONAL_ORG, cls.INTERNATIONAL_ORG]


class Region(models.TextChoices):
    SOUTHEAST_ASIA = "southeast_asia", "Southeast Asia"
    NORTHEAST_ASIA = "northeast_asia", "Northeast Asia"
    SOUTH_ASIA = "south_asia", "South Asia"
    OCEANIA = "oceania", "Oceania"
    EUROPE = "europe", "Europe"
    NORTH_AMERICA = "north_america", "North America"
    GLOBAL = "global", "Global"
