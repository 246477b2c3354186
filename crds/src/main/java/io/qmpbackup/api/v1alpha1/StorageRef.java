package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** Where backups live: a storage location the node agent has mounted, and a folder inside it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StorageRef {
    @JsonPropertyDescription("Name of a storage location configured on the node agent.")
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    public String location;

    @JsonPropertyDescription("Folder inside the location (relative, no '..'): the backup target of this VM.")
    @Required
    @ValidationRule(value = "!self.startsWith('/') && !self.matches('(^|/)[.][.](/|$)')",
            message = "path must be relative and must not contain '..'")
    public String path;
}
