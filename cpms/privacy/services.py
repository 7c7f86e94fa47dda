from cpms.audit.anchor import anchor_write
from cpms.audit.chain import verify

from .models import ChainVerification


def chain_verify(*, triggered_by: str = "", allow_unanchored: bool = False) -> ChainVerification:
    """Verify the chain (against the anchors too), then anchor the head it verified, if it is intact (a broken chain's
    head is never vouched for). Without an anchor the end of the chain cannot be verified and the verification fails,
    unless `allow_unanchored` accepts that (development, or the first verification of a new installation)."""
    report = verify(allow_unanchored=allow_unanchored)
    if report.intact:
        anchor_write()
    return ChainVerification.objects.create(intact=report.intact, links=report.links, problems=report.problems[:200],
                                            triggered_by=triggered_by[:150], anchored=report.anchored)
