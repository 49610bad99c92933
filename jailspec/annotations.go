package jailspec

// Annotations lists the config.json annotations the translation honours,
// for the runtime-spec features document; a key ending in "." is a
// prefix.
func Annotations() []string {
	return []string{
		AnnotationParent,
		annotationVnet,
		annotationJail + "sysvmsg",
		annotationJail + "sysvsem",
		annotationJail + "sysvshm",
		annotationIP4Addr,
		annotationIP6Addr,
		annotationAllow,
	}
}
