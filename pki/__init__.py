"""Development PKI for cs-gateway: role profiles and a throwaway dev CA."""
