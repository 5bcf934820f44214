"""Development PKI for cs-gateway modelled on 住基ネット: role profiles, a root CA (機構 stand-in),
an issuing intermediate for the municipality's CS network, leaves, CRL and rotation tooling."""
