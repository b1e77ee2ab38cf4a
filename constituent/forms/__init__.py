"""WTForms per area, mirroring views/."""
