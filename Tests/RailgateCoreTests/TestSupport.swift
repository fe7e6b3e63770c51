import RailgateCore

/// Swift Testing also exports a `Tag`; in these tests `Tag` is Railgate's.
typealias Tag = RailgateCore.Tag
